// Secret references: the inventory never holds a secret, only where to find
// it — a file path (relative to the inventory's directory) or "env:NAME".
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace certfleet::inventory {

// The secret's content with one trailing newline ("\n" or "\r\n") removed.
// Error messages name the file or variable, never the content.
core::Result<std::string> read_secret(const std::string& reference, const std::string& base_dir);

// "~/x" → $HOME/x; a relative path → base_dir/path; an absolute path unchanged.
std::string resolve_path(const std::string& path, const std::string& base_dir);

bool is_env_reference(std::string_view reference);

// What validation can learn about a reference without reading the secret.
struct SecretCheck {
    std::string resolved;  // absolute path, or "env:NAME" unchanged
    std::string error;     // empty when usable
    std::string warning;   // the file is readable by others: a security warning
};
SecretCheck check_secret_reference(const std::string& reference, const std::string& base_dir);

// For files that are not secret but must be there (ca_bundle): the error, or "".
std::string check_readable_file(const std::string& raw, const std::string& base_dir);

}  // namespace certfleet::inventory
