// Crash-safe file operations: atomic writes, directory creation with exact
// modes, atomic symlink swaps. Errors name the path and the errno text so an
// operator can act on "No space left on device" or "Read-only file system".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "core/result.hpp"

namespace certfleet::core {

// Writes `content` to `path` so that readers see either the old file or the
// complete new one, never a mix. The file has exactly `mode` from the moment
// it exists (independent of umask), so a key is never briefly readable.
Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode = 0600);

// mkdir -p. Only directories created here get `mode`; existing ones are left alone.
Status make_dirs(const std::string& path, mode_t mode = 0750);

// Points `link_path` at `target` by renaming a fresh symlink over it, so the
// link is never missing or half-updated. Fsyncs the containing directory.
Status replace_symlink(const std::string& link_path, const std::string& target);

// Whole file; fails when it is larger than `max_bytes`.
Result<std::string> read_file(const std::string& path, size_t max_bytes = 16 * 1024 * 1024);

// Makes a rename/creation inside directory `path` durable.
Status fsync_dir(const std::string& path);

// The link's target text, or nullopt when `path` is not a symlink.
std::optional<std::string> read_symlink(const std::string& path);

// rm -rf without following symlinks; a missing path is success.
Status remove_tree(const std::string& path);

}  // namespace certfleet::core
