// /etc/group as a host has it: the group id of a name, so that a file's group
// can be set over SFTP (which speaks numbers only) instead of by a remote
// `chgrp`. The text comes from the host: bounded, never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace certfleet::distribute {

// The gid of `name` in `group_file` ("name:password:gid:members" lines), or
// nullopt when no well-formed line names it (groups from LDAP or another NSS
// source are not in the file: the caller falls back to `chgrp`).
std::optional<std::uint32_t> group_id_in(std::string_view group_file, std::string_view name);

}  // namespace certfleet::distribute
