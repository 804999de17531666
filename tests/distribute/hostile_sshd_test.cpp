// SshTransport against a real OpenSSH sshd started for this test, stalled
// after authentication: its per-connection processes are stopped (SIGSTOP)
// while a command runs and before an upload. Both must end within their
// timeouts, and the next operation connects again once the host recovers.
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <map>
#include <pwd.h>
#include <set>
#include <spawn.h>
#include <sys/wait.h>

#include "distribute/ssh_transport.hpp"
#include "support/hostile_peer.hpp"
#include "support/temp_files.hpp"

extern char** environ;

using namespace certfleet;
using namespace certfleet::distribute;
using namespace certfleet::test::hostile;

namespace {

// Runs argv with stdout and stderr to /dev/null; its pid.
pid_t spawn(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (int fd : {0, 1, 2}) {
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY,
                                         0);
    }
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
        pid = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

void run_to_end(std::vector<std::string> args) {
    const pid_t pid = spawn(std::move(args));
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}

// Every process below `root`, from /proc.
std::set<pid_t> descendants(pid_t root) {
    std::map<pid_t, pid_t> parent;
    DIR* proc = ::opendir("/proc");
    REQUIRE(proc != nullptr);
    while (const dirent* e = ::readdir(proc)) {
        const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
        std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
        std::string text;
        if (pid > 0 && std::getline(stat, text) && text.rfind(')') != std::string::npos) {
            std::istringstream rest(text.substr(text.rfind(')') + 2));
            char state = 0;
            pid_t ppid = 0;
            rest >> state >> ppid;
            parent[pid] = ppid;
        }
    }
    ::closedir(proc);
    std::set<pid_t> found;
    for (bool grew = true; grew;) {
        grew = false;
        for (const auto& [pid, ppid] : parent) {
            if ((ppid == root || found.count(ppid) != 0) && found.insert(pid).second) {
                grew = true;
            }
        }
    }
    return found;
}

// sshd -D on 127.0.0.1 with its own host key, accepting one user key for the
// current user; stopped (with every connection) by the destructor.
class LocalSshd {
public:
    LocalSshd() {
        if (::access("/usr/sbin/sshd", X_OK) != 0) {
            FAIL("this test needs OpenSSH's /usr/sbin/sshd (Debian: openssh-server), as the lab");
        }
        // sshd refuses to start without its privilege separation directory,
        // which a fresh machine (no systemd to make it) may not have yet.
        std::filesystem::create_directories("/run/sshd");
        run_to_end({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir / "host"});
        run_to_end({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir / "user"});
        std::filesystem::copy_file(dir / "user.pub", dir / "authorized_keys");
        const int port_fd = bound_socket(SOCK_STREAM);
        port = local_port(port_fd);
        ::close(port_fd);
        std::ofstream(dir / "sshd_config")
            << "ListenAddress 127.0.0.1:" << port << "\nHostKey " << dir / "host"
            << "\nAuthorizedKeysFile " << dir / "authorized_keys"
            << "\nStrictModes no\nUsePAM no\nPidFile none\nPermitRootLogin prohibit-password\n"
               "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
               "Subsystem sftp internal-sftp\nLogLevel QUIET\n";
        std::string host_key;
        std::ifstream(dir / "host.pub") >> host_key >> host_key;
        std::ofstream(dir / "known_hosts")
            << "[127.0.0.1]:" << port << " ssh-ed25519 " << host_key << "\n";
        m_pid = spawn({"/usr/sbin/sshd", "-D", "-e", "-f", dir / "sshd_config"});
        REQUIRE(m_pid > 0);
        wait_until_listening();
    }
    ~LocalSshd() {
        signal_connections(SIGKILL);
        ::kill(m_pid, SIGTERM);
        ::waitpid(m_pid, nullptr, 0);
    }
    LocalSshd(const LocalSshd&) = delete;
    LocalSshd& operator=(const LocalSshd&) = delete;

    // SIGSTOP / SIGCONT every process serving a connection (and its commands).
    void signal_connections(int signal) const {
        for (pid_t pid : descendants(m_pid)) {
            ::kill(pid, signal);
        }
    }

    SshOptions options() const {
        SshOptions o;
        o.host_name = "edge-1";
        o.address = "127.0.0.1";
        o.port = port;
        const passwd* me = ::getpwuid(::getuid());
        REQUIRE(me != nullptr);
        o.user = me->pw_name;
        o.identity_file = dir / "user";
        o.known_hosts = dir / "known_hosts";
        o.connect_timeout = core::Seconds(2);
        // Generous enough for a real sshd on a busy machine (authentication
        // forks and checks a signature), short enough for a quick test.
        o.operation_timeout = core::Seconds(3);
        o.use_agent = false;
        return o;
    }

    testing::TempDir dir;
    int port = 0;

private:
    void wait_until_listening() const {
        const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
        while (SteadyClock::now() < deadline) {
            SshTransport probe(options());
            if (probe.connect()) {
                return;
            }
            std::this_thread::sleep_for(milliseconds(50));
        }
        FAIL("sshd did not start on 127.0.0.1:" << port);
    }

    pid_t m_pid = -1;
};

}  // namespace

TEST_CASE("ssh: a host that stalls after authentication, mid-command or before an upload",
          "[hostile][ssh]") {
    LocalSshd sshd;
    SshTransport command_host(sshd.options());
    SshTransport upload_host(sshd.options());
    auto ready = command_host.run("echo ready", core::Seconds(5));
    INFO((ready.ok() ? std::string() : ready.error().describe()));
    REQUIRE(ready.ok());
    CHECK(ready->out == "ready\n");
    auto listed = upload_host.stat(sshd.dir.path);  // connected, SFTP started
    INFO((listed.ok() ? std::string() : listed.error().describe()));
    REQUIRE(listed.ok());

    const auto start = SteadyClock::now();
    auto command = std::async(std::launch::async, [&] {
        return command_host.run("sleep 0.2; echo done", core::Seconds(1));
    });
    std::this_thread::sleep_for(milliseconds(100));  // the command is running
    sshd.signal_connections(SIGSTOP);
    auto upload = std::async(std::launch::async, [&] {
        const auto began = SteadyClock::now();
        auto s = upload_host.write_file(sshd.dir / "uploaded", std::string(1 << 20, 'x'), 0600);
        return std::pair{s, seconds_since(began)};
    });

    const auto [uploaded, upload_seconds] = upload.get();
    INFO((uploaded.ok() ? std::string() : uploaded.error().message));
    REQUIRE_FALSE(uploaded.ok());
    CHECK(uploaded.error().kind == core::ErrorKind::Timeout);
    CHECK(uploaded.error().message.starts_with("edge-1: cannot stat " + sshd.dir.path));
    CHECK(uploaded.error().hint == "check the connection to the host and its sshd");
    CHECK(upload_seconds < 5);  // operation_timeout 3 s, counted in whole seconds by libssh2
    CHECK_FALSE(upload_host.connected());

    const auto ran = command.get();
    const double command_seconds = seconds_since(start);
    INFO((ran.ok() ? ran->out : ran.error().message));
    // Either the command's deadline passed (1 s, then 3 s for the remote
    // `timeout` to end it) or, if the stop came first, opening the channel
    // timed out: bounded both ways, and the connection is dropped.
    CHECK((ran.ok() ? ran->timed_out : ran.error().kind == core::ErrorKind::Timeout));
    CHECK(command_seconds < 5.5);
    CHECK_FALSE(command_host.connected());

    // The host recovers: the next operation connects again.
    sshd.signal_connections(SIGCONT);
    auto again = command_host.run("echo again", core::Seconds(5));
    INFO((again.ok() ? std::string() : again.error().describe()));
    REQUIRE(again.ok());
    CHECK(again->out == "again\n");
    auto after = upload_host.write_file(sshd.dir / "uploaded", "after", 0600);
    INFO((after.ok() ? std::string() : after.error().describe()));
    CHECK(after.ok());
}

TEST_CASE("ssh: a host that never stops sending output still ends at the deadline",
          "[hostile][ssh]") {
    LocalSshd sshd;
    SshTransport host(sshd.options());
    // `setsid` takes the writer out of the remote `timeout`'s process group:
    // output keeps coming after the deadline, and the channel never closes.
    const auto start = SteadyClock::now();
    auto ran = host.run("setsid sh -c 'yes flood' & sleep 60", core::Seconds(1));
    const double took = seconds_since(start);
    INFO((ran.ok() ? std::to_string(ran->out.size()) + " bytes" : ran.error().describe()));
    CHECK((ran.ok() ? ran->timed_out : ran.error().kind == core::ErrorKind::Timeout));
    CHECK(took < 8);  // 1 s deadline + the kill grace and the channel's close
}

TEST_CASE("ssh: create_file refuses a path that exists, a planted link included",
          "[hostile][ssh]") {
    LocalSshd sshd;
    SshTransport host(sshd.options());
    const std::string fresh = sshd.dir / "privkey.pem";
    auto made = host.create_file(fresh, "key", 0600);
    INFO((made.ok() ? std::string() : made.error().describe()));
    REQUIRE(made.ok());
    CHECK_FALSE(host.create_file(fresh, "other", 0600).ok());
    const std::string planted = sshd.dir / "planted";
    REQUIRE(::symlink((sshd.dir / "elsewhere").c_str(), planted.c_str()) == 0);
    CHECK_FALSE(host.create_file(planted, "key", 0600).ok());
    CHECK(::access((sshd.dir / "elsewhere").c_str(), F_OK) != 0);
}
