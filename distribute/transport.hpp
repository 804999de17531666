// How certfleet touches a host: run a command, move files, inspect them.
// `ssh` (libssh2: SFTP for files, exec channels for commands) and `local`
// implement it; unit tests use a fault-injecting fake. The deployment
// transaction is written only against this interface, so every transport
// gets the same crash-safety.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace certfleet::distribute {

struct CommandOutput {
    int exit_code = -1;
    bool timed_out = false;
    std::string out;  // bounded (1 MiB)
    std::string err;  // bounded (1 MiB)
};

struct FileInfo {
    bool exists = false;
    bool is_dir = false;
    bool is_symlink = false;  // lstat semantics: a symlink is not followed
    bool is_regular = false;
    mode_t mode = 0;  // permission bits only (07777)
    uid_t uid = 0;
    gid_t gid = 0;
    std::uint64_t size = 0;
    // Seconds since the epoch, as the host's clock set them. The mtime of a
    // directory certfleet just wrote into tells the host's time without
    // starting a process there.
    std::int64_t mtime = 0;
};

struct RenameStep {
    std::string from, to;
};

struct SpaceInfo {
    std::uint64_t available_bytes = 0;  // for an unprivileged writer (f_bavail)
    bool read_only = false;             // ST_RDONLY
};

// More entries than any certificate directory, /etc/ssl or a scan dir of
// a real host holds.
inline constexpr std::size_t kMaxDirEntries = 100000;

// The error for a directory over kMaxDirEntries.
core::Failure too_many_entries(const std::string& host, const std::string& path);

using SteadyTime = std::chrono::steady_clock::time_point;

// When a host must be done, and why (for the message): "the host_timeout of
// 5m", "the run's --time-limit of 50m".
struct Deadline {
    SteadyTime at;
    std::string why;
};

class Transport {
public:
    virtual ~Transport() = default;

    // From now on no operation waits past the deadline: one in progress is
    // cut off (a timeout), later ones fail at once with ErrorKind::Timeout.
    // A host that freezes mid-upload or trickles its answers costs at most
    // this. nullopt: each operation's own timeout only.
    void set_deadline(std::optional<Deadline> deadline) { m_deadline = std::move(deadline); }
    const std::optional<Deadline>& deadline() const { return m_deadline; }

    // "cdn-1 (ssh root@127.0.70.1:2222)" / "web-local (local)": for messages.
    virtual std::string describe() const = 0;
    // Opens the connection (SSH: TCP, host key check, authentication). Idempotent.
    virtual core::Status connect() = 0;
    // The uid this transport acts as on the host (SSH: the login user), for
    // ownership checks; nullopt when it cannot be learned.
    virtual std::optional<uid_t> user_id() { return std::nullopt; }
    // Drops the connection (the next operation opens a new one): after a
    // timeout, the old one may belong to a frozen server process.
    virtual void reset_connection() {}

    // Runs `command` through the host's /bin/sh. Key material never goes on
    // a command line: callers pass paths only.
    virtual core::Result<CommandOutput> run(const std::string& command, core::Seconds timeout) = 0;

    // Creates or truncates `path` with exactly `mode`, writes `content`, fsyncs it.
    virtual core::Status write_file(const std::string& path, std::string_view content,
                                    mode_t mode) = 0;
    // Like write_file, but `path` must not exist yet (O_EXCL, SFTP's
    // FXF_EXCL): nothing another user put there is written into or through.
    virtual core::Status create_file(const std::string& path, std::string_view content,
                                     mode_t mode) = 0;
    virtual core::Result<std::string> read_file(const std::string& path, std::size_t max_bytes) = 0;
    // lstat; a missing path is {exists=false}, not an error.
    virtual core::Result<FileInfo> stat(const std::string& path) = 0;
    virtual core::Result<std::string> read_link(const std::string& path) = 0;
    // Sorted names without "." and "..". A directory with more than
    // kMaxDirEntries entries is an error, not a list: a host cannot make the
    // manager hold millions of names.
    virtual core::Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
    // Names with their lstat, sorted. SFTP's readdir carries the attributes,
    // so a scan of 200 files is one round trip, not 201 (the audit walks
    // whole directories); the default asks stat for each.
    virtual core::Result<std::vector<std::pair<std::string, FileInfo>>> list_dir_info(
        const std::string& path);
    // One level, with `mode`; an existing directory is fine.
    virtual core::Status make_dir(const std::string& path, mode_t mode) = 0;
    // rename(2) semantics: atomically replaces `to` (file, symlink or empty dir).
    virtual core::Status rename(const std::string& from, const std::string& to) = 0;
    // Renames each step in order (stopping at the first that fails: an
    // error, nothing of `command` ran), then runs `command` when it is not
    // empty. Over SSH, renames that must replace something (SFTP v3 cannot)
    // and the command share one remote process: a swap and the config test
    // cost one login-shell start, not two.
    virtual core::Result<CommandOutput> rename_then_run(const std::vector<RenameStep>& steps,
                                                        const std::string& command,
                                                        core::Seconds timeout);
    virtual core::Status symlink(const std::string& target, const std::string& link_path) = 0;
    virtual core::Status remove(const std::string& path) = 0;  // file or symlink; missing is fine
    virtual core::Status remove_tree(const std::string& path) = 0;  // missing is fine
    virtual core::Status set_group(const std::string& path, const std::string& group) = 0;
    virtual core::Status fsync_dir(const std::string& path) = 0;
    virtual core::Result<SpaceInfo> space(const std::string& path) = 0;

protected:
    // Ok while the deadline (if any) is ahead; else the Timeout failure
    // "HOST: out of time: WHY passed".
    core::Status check_deadline(const std::string& host) const;
    // `limit`, shortened to the time left before the deadline (at least 1 ms).
    std::chrono::milliseconds within_deadline(std::chrono::milliseconds limit) const;

private:
    std::optional<Deadline> m_deadline;
};

}  // namespace certfleet::distribute
