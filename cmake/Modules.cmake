# One static library per module, each linking only the modules it may know.
# The allowed dependencies are not written here: they are read from the
# ```modules block of ARCHITECTURE.md, the same block scripts/check-boundaries
# reads, so the map, the build and the include check cannot drift apart.
# Sources are globbed per folder (adding a file needs no CMake edit;
# CONFIGURE_DEPENDS re-globs on build). The include root is the repository
# root: `#include "acme/client.hpp"`.

file(READ ${PROJECT_SOURCE_DIR}/ARCHITECTURE.md certfleet_architecture)
string(REGEX MATCH "```modules\n([^`]*)```" certfleet_block "${certfleet_architecture}")
if(NOT certfleet_block)
  message(FATAL_ERROR "ARCHITECTURE.md has no ```modules block (the module map the build reads)")
endif()
string(REPLACE "\n" ";" certfleet_lines "${CMAKE_MATCH_1}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/ARCHITECTURE.md)

# acme/dns -> certfleet_acme_dns
# (cli -> the certfleet executable)
function(certfleet_target_of module out)
  string(REPLACE "/" "_" name "${module}")
  if(module STREQUAL "cli")
    set(${out} certfleet PARENT_SCOPE)
  else()
    set(${out} certfleet_${name} PARENT_SCOPE)
  endif()
endfunction()

set(CERTFLEET_MODULES "")
foreach(line IN LISTS certfleet_lines)
  string(REGEX REPLACE "#.*" "" line "${line}")
  string(STRIP "${line}" line)
  if(line STREQUAL "")
    continue()
  endif()
  string(REGEX MATCH "^([a-z/]+):(.*)$" ok "${line}")
  if(NOT ok)
    message(FATAL_ERROR "ARCHITECTURE.md ```modules: cannot read '${line}' (expected 'module: dep dep ...')")
  endif()
  set(module "${CMAKE_MATCH_1}")
  string(STRIP "${CMAKE_MATCH_2}" deps)
  separate_arguments(deps UNIX_COMMAND "${deps}")
  list(APPEND CERTFLEET_MODULES ${module})
  set(CERTFLEET_DEPS_${module} ${deps})
endforeach()

foreach(module IN LISTS CERTFLEET_MODULES)
  certfleet_target_of(${module} target)
  # A module's sources are its folder's own files; a nested module
  # (acme/dns inside acme) is its own library.
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${module}/*.cpp)
  if(module STREQUAL "cli")
    add_executable(${target} ${srcs})
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
  else()
    add_library(${target} STATIC ${srcs})
  endif()
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PRIVATE certfleet_warnings PUBLIC certfleet_sanitizers)
  foreach(dep IN LISTS CERTFLEET_DEPS_${module})
    if(NOT dep IN_LIST CERTFLEET_MODULES)
      message(FATAL_ERROR "ARCHITECTURE.md ```modules: ${module} uses '${dep}', which is not declared above it")
    endif()
    certfleet_target_of(${dep} dep_target)
    target_link_libraries(${target} PUBLIC ${dep_target})
  endforeach()
endforeach()

# What each module needs from outside (Debian packages, cmake/Dependencies.cmake).
target_link_libraries(certfleet_core PUBLIC OpenSSL::SSL OpenSSL::Crypto CURL::libcurl
  nlohmann_json::nlohmann_json spdlog::spdlog Threads::Threads)
target_link_libraries(certfleet_acme_dns PUBLIC PkgConfig::LDNS tinyxml2::tinyxml2)
target_link_libraries(certfleet_state PUBLIC SQLite::SQLite3)
target_link_libraries(certfleet_distribute PUBLIC PkgConfig::LIBSSH2)
target_link_libraries(certfleet PRIVATE CLI11::CLI11)
target_compile_definitions(certfleet PRIVATE CERTFLEET_VERSION="${PROJECT_VERSION}")
install(TARGETS certfleet RUNTIME DESTINATION bin)
