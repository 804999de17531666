// What a host's own files say, read over SFTP instead of asked of a remote
// command (each costs a login shell): /etc/group for the gid of a name (SFTP
// speaks numbers only), /proc/self/status for the login user's uid. The text
// comes from the host: bounded, never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace certfleet::distribute {

// The gid of `name` in `group_file` ("name:password:gid:members" lines), or
// nullopt when no well-formed line names it (groups from LDAP or another NSS
// source are not in the file: the caller falls back to `chgrp`).
std::optional<std::uint32_t> group_id_in(std::string_view group_file, std::string_view name);

// The effective uid in Linux's /proc/<pid>/status text ("Uid:\tREAL\tEFFECTIVE\t..."),
// or nullopt when there is no well-formed Uid line.
std::optional<std::uint32_t> effective_uid_in(std::string_view proc_status);

}  // namespace certfleet::distribute
