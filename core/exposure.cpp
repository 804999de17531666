#include "core/exposure.hpp"

#include <cstdio>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

namespace certfleet::core {

std::string exposed_secret_file(const std::string& path, mode_t mode) {
    if ((mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) == 0)
        return {};
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
    const char* access = (mode & (S_IRGRP | S_IROTH)) ? "readable" : "writable";
    const char* who = (mode & (S_IROTH | S_IWOTH)) ? "every user" : "its group";
    return "'" + path + "' (mode " + octal + ") is " + access + " by " + who + "; chmod 600 '" +
           path + "'";
}

void security_warning(const std::string& message) {
    if (auto logger = spdlog::get(kSecurityLogger))
        logger->warn(message);
    else
        spdlog::warn(message);
}

}  // namespace certfleet::core
