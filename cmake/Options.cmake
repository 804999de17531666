# INTERFACE targets carrying warning and sanitizer flags, linked by every
# certfleet target (after ccache's approach) so the policy lives in one place.
add_library(certfleet_warnings INTERFACE)
target_compile_options(certfleet_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wformat=2
  -Wimplicit-fallthrough)
# GCC 12 reports -Wrestrict inside libstdc++'s std::string when optimizing
# (GCC bug 105329, fixed in 13); it is never about our code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(certfleet_warnings INTERFACE -Wno-restrict)
endif()
if(CERTFLEET_WERROR)
  target_compile_options(certfleet_warnings INTERFACE -Werror)
endif()

add_library(certfleet_sanitizers INTERFACE)
if(CERTFLEET_SANITIZE)
  target_compile_options(certfleet_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(certfleet_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
