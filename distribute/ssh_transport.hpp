// A host reached over SSH (libssh2): files over SFTP, commands over exec
// channels, the host key checked strictly against certfleet's known_hosts.
// One connection per transport, opened by connect() (or the first operation
// that needs it) and closed by the destructor. A transport is used by one
// thread at a time; many transports may work in parallel threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"
#include "distribute/transport.hpp"

namespace certfleet::distribute {

struct SshOptions {
    std::string host_name;  // inventory name, first word of every message
    std::string address;    // IP address or DNS name
    int port = 22;
    std::string user;
    std::string identity_file;            // "~/" is expanded; "" = agent only
    std::string known_hosts;              // required; a missing file refuses every host
    core::Seconds connect_timeout{10};    // TCP connect
    core::Seconds operation_timeout{30};  // handshake, auth, each SFTP call, helper commands
    bool use_agent = true;                // try $SSH_AUTH_SOCK identities before identity_file
};

// Quotes `text` as one word for a POSIX shell: 'it'\''s'. Safe for any bytes
// except NUL (which no shell word can hold).
std::string shell_quote(std::string_view text);

class SshSession;

class SshTransport final : public Transport {
public:
    explicit SshTransport(SshOptions options);
    ~SshTransport() override;
    SshTransport(const SshTransport&) = delete;
    SshTransport& operator=(const SshTransport&) = delete;

    const SshOptions& options() const { return m_options; }
    bool connected() const;
    // Closes the connection now; the next operation connects again.
    void disconnect();
    // Remote commands (exec channels) started so far: each costs the host a
    // login shell, so tests and benchmarks count them.
    std::size_t commands_started() const { return m_commands_started; }

    std::string describe() const override;
    core::Status connect() override;
    // Abandons the connection (no goodbye a frozen peer would never read).
    void reset_connection() override;
    // From /proc/self/status over SFTP (the SFTP server runs as the login
    // user); `id -u` only where that file cannot be read. Cached.
    std::optional<uid_t> user_id() override;

    // The command runs as `/bin/sh -c COMMAND` whatever the user's login
    // shell, stdin at EOF, under coreutils' `timeout` when the host has it (so
    // a command past its deadline is stopped: libssh2 1.10 cannot send
    // signals). On timeout timed_out is set; a channel that does not close
    // within 3 s more costs the connection (the next call reconnects).
    core::Result<CommandOutput> run(const std::string& command, core::Seconds timeout) override;

    core::Status write_file(const std::string& path, std::string_view content,
                            mode_t mode) override;
    core::Status create_file(const std::string& path, std::string_view content,
                             mode_t mode) override;
    core::Result<std::string> read_file(const std::string& path, std::size_t max_bytes) override;
    core::Result<FileInfo> stat(const std::string& path) override;
    core::Result<std::string> read_link(const std::string& path) override;
    core::Result<std::vector<std::string>> list_dir(const std::string& path) override;
    core::Result<std::vector<std::pair<std::string, FileInfo>>> list_dir_info(
        const std::string& path) override;
    core::Status make_dir(const std::string& path, mode_t mode) override;
    // Over SFTP when `to` does not exist; else `mv -Tf`: SFTP v3 rename
    // refuses an existing target and libssh2 1.10 lacks
    // posix-rename@openssh.com. Needs GNU coreutils on the host.
    core::Status rename(const std::string& from, const std::string& to) override;
    // Leading steps whose target does not exist go over SFTP; the rest (`mv
    // -Tf` each) and the command run as one remote script.
    core::Result<CommandOutput> rename_then_run(const std::vector<RenameStep>& steps,
                                                const std::string& command,
                                                core::Seconds timeout) override;
    core::Status symlink(const std::string& target, const std::string& link_path) override;
    core::Status remove(const std::string& path) override;
    // Over SFTP (unlink, rmdir); `rm -rf` only for a tree deeper or larger
    // than any version directory.
    core::Status remove_tree(const std::string& path) override;
    // Over SFTP (setstat with the gid from the host's /etc/group); `chgrp -h`
    // for a symlink or a group the file does not list.
    core::Status set_group(const std::string& path, const std::string& group) override;
    // Over SFTP (open the directory, fsync@openssh.com); `sync DIR` when the
    // server cannot.
    core::Status fsync_dir(const std::string& path) override;
    core::Result<SpaceInfo> space(const std::string& path) override;

private:
    core::Status write_with(const std::string& path, std::string_view content, mode_t mode,
                            unsigned long create_flag);
    core::Status ensure_connected();
    // Connects if needed and starts the SFTP channel if needed.
    core::Status open_sftp();
    core::Status fsync_dir_by_command(const std::string& path);
    // Runs a helper command; a non-zero exit becomes "HOST: cannot WHAT: <stderr>".
    core::Status run_helper(const std::string& what, const std::string& command);
    // SFTP rename when `to` does not exist; false when it does or the server refused.
    core::Result<bool> sftp_rename_new(const std::string& from, const std::string& to);
    // Removes what is under `path` and `path`; false when the tree is deeper
    // or larger than `budget` allows (the caller falls back to `rm -rf`).
    core::Result<bool> remove_tree_sftp(const std::string& path, int depth, std::size_t& budget);
    std::optional<std::uint32_t> group_id(const std::string& group);
    // The failure of the last SFTP call; drops a connection that is no longer usable.
    core::Failure sftp_failure(const std::string& what, const std::string& path);

    SshOptions m_options;
    std::unique_ptr<SshSession> m_session;
    std::map<std::string, std::optional<std::uint32_t>> m_group_ids;
    std::size_t m_commands_started = 0;
    std::optional<std::optional<uid_t>> m_user_id;  // from the host's /etc/group
};

}  // namespace certfleet::distribute
