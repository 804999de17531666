// SshTransport against the lab's real sshd (OpenSSH, internal-sftp): every
// operation, strict host key checking, authentication failures, timeouts,
// parallel connections.
#include "distribute/ssh_transport.hpp"

#include <atomic>
#include <chrono>
#include <sstream>
#include <sys/mount.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "distribute/deploy.hpp"
#include "lab.hpp"
#include "support/deploy_test_support.hpp"

using namespace certfleet::distribute;
using certfleet::testing::Lab;
using certfleet::testing::make_temp_dir;
using certfleet::testing::run_command;
using Clock = std::chrono::steady_clock;

namespace {

struct FleetHost {
    std::string name;
    std::string address;
};

// A lab.env setting of the fleet; a lab without it fails the test.
std::string lab_value(const std::string& key) {
    std::string v = Lab::get().value(key);
    if (v.empty()) {
        FAIL(Lab::get().dir << "/lab.env has no " << key
                            << ": restart the lab with a fleet (LAB_HOSTS > 0)");
    }
    return v;
}

// LAB_FLEET="cdn-fra-1=127.0.53.11 cdn-ams-1=127.0.53.12 ..."
std::vector<FleetHost> fleet() {
    std::vector<FleetHost> hosts;
    std::istringstream in(lab_value("LAB_FLEET"));
    for (std::string pair; in >> pair;) {
        const auto eq = pair.find('=');
        REQUIRE(eq != std::string::npos);
        hosts.push_back({pair.substr(0, eq), pair.substr(eq + 1)});
    }
    REQUIRE_FALSE(hosts.empty());
    return hosts;
}

const FleetHost& first_host() {
    static const FleetHost host = fleet().front();
    return host;
}

int ssh_port() {
    return std::stoi(lab_value("LAB_SSH_PORT"));
}

SshOptions lab_options(const FleetHost& host) {
    SshOptions o;
    o.host_name = host.name;
    o.address = host.address;
    o.port = ssh_port();
    o.user = lab_value("LAB_SSH_USER");
    o.identity_file = lab_value("LAB_SSH_IDENTITY");
    o.known_hosts = lab_value("LAB_SSH_KNOWN_HOSTS");
    o.connect_timeout = std::chrono::seconds(5);
    o.operation_timeout = std::chrono::seconds(20);
    o.use_agent = false;  // the test's own key only, whatever agent the runner has
    return o;
}

std::string must_run(SshTransport& t, const std::string& command) {
    auto r = t.run(command, std::chrono::seconds(20));
    REQUIRE(r);
    INFO(command << ": " << r->err);
    REQUIRE(r->exit_code == 0);
    return r->out;
}

// A fresh directory on the host, removed again at the end of the test.
struct RemoteDir {
    SshTransport& t;
    std::string path;
    explicit RemoteDir(SshTransport& transport) : t(transport) {
        path = must_run(t, "mktemp -d /tmp/certfleet-ssh-test-XXXXXX");
        while (!path.empty() && path.back() == '\n') {
            path.pop_back();
        }
        REQUIRE(path.rfind("/tmp/certfleet-ssh-test-", 0) == 0);
    }
    ~RemoteDir() { (void)t.remove_tree(path); }
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

std::string connect_error(const SshOptions& o) {
    SshTransport t(o);
    auto s = t.connect();
    REQUIRE_FALSE(s);
    REQUIRE_FALSE(t.connected());
    return s.error().message;
}

}  // namespace

TEST_CASE("ssh: connect and run a command", "[ssh]") {
    const FleetHost& host = first_host();
    SshTransport t(lab_options(host));
    CHECK(t.describe() ==
          host.name + " (ssh root@" + host.address + ":" + std::to_string(ssh_port()) + ")");
    REQUIRE(t.connect());
    REQUIRE(t.connect());  // idempotent
    CHECK(t.connected());

    auto r = t.run("echo hi; echo err >&2; exit 3", std::chrono::seconds(10));
    REQUIRE(r);
    CHECK(r->exit_code == 3);
    CHECK(r->out == "hi\n");
    CHECK(r->err == "err\n");
    CHECK_FALSE(r->timed_out);

    // stdin is at EOF, as with </dev/null locally.
    auto cat = t.run("cat", std::chrono::seconds(5));
    REQUIRE(cat);
    CHECK_FALSE(cat->timed_out);
    CHECK(cat->exit_code == 0);
    CHECK(cat->out.empty());

    // /bin/sh semantics and quoting survive the trip through the login shell.
    const std::string tricky = "it's \"$HOME\" `id` \\ ; #";
    CHECK(must_run(t, "printf %s " + shell_quote(tricky)) == tricky);
    auto signalled = t.run("kill -TERM $$", std::chrono::seconds(10));
    REQUIRE(signalled);
    CHECK(signalled->exit_code == 128 + 15);

    // Output is bounded at 1 MiB a stream, and the rest is drained, not stuck.
    auto big = t.run("head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2; exit 0",
                     std::chrono::seconds(20));
    REQUIRE(big);
    CHECK(big->exit_code == 0);
    CHECK(big->out.size() == std::size_t{1} << 20);
    CHECK(big->err.size() == std::size_t{1} << 20);
}

TEST_CASE("ssh: a command that outlives its timeout is stopped", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    REQUIRE(t.connect());
    const auto start = Clock::now();
    // A duration unique to this test process, to recognise its sleep below.
    const std::string seconds = "30." + std::to_string(::getpid());
    auto r = t.run("sleep " + seconds, std::chrono::seconds(1));
    const auto elapsed = Clock::now() - start;
    REQUIRE(r);
    CHECK(r->timed_out);
    CHECK(elapsed < std::chrono::milliseconds(2500));
    // The remote command is gone too (coreutils timeout), and the connection is
    // usable.
    CHECK(must_run(t, "pgrep -f '^sleep 30[.]" + std::to_string(::getpid()) + "$' || echo none") ==
          "none\n");
    CHECK(t.connected());
}

TEST_CASE("ssh: output that never stops cannot hold the manager past the deadline", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    REQUIRE(t.connect());
    // A writer in its own session outlives the remote `timeout` and keeps the
    // channel full: only the manager's own deadline check can end the read.
    const std::string marker = "certfleet-flood-" + std::to_string(::getpid());
    const auto start = Clock::now();
    auto r = t.run("setsid sh -c 'exec yes " + marker + "' & sleep 0.2", std::chrono::seconds(1));
    const auto elapsed = Clock::now() - start;
    SshTransport cleanup(lab_options(first_host()));
    (void)cleanup.run("pkill -f 'yes " + marker + "'", std::chrono::seconds(10));
    REQUIRE(r);
    CHECK(r->timed_out);
    CHECK(r->out.size() <= (std::size_t{1} << 20));  // bounded, as CommandOutput says
    // 1 s, then at most the kill grace (3 s), never the hours `yes` would run.
    CHECK(elapsed < std::chrono::seconds(6));
}

TEST_CASE("ssh: files over SFTP with exact modes", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    REQUIRE(t.connect());
    RemoteDir dir(t);

    REQUIRE(t.write_file(dir / "privkey.pem", "secret\n", 0600));
    CHECK(must_run(t, "stat -c %a " + shell_quote(dir / "privkey.pem")) == "600\n");
    CHECK(must_run(t, "cat " + shell_quote(dir / "privkey.pem")) == "secret\n");
    auto content = t.read_file(dir / "privkey.pem", 100);
    REQUIRE(content);
    CHECK(*content == "secret\n");
    CHECK_FALSE(t.read_file(dir / "privkey.pem", 3));

    // Rewriting narrows an existing, more open file before the content lands.
    must_run(t, "printf old > " + shell_quote(dir / "cert.pem") + " && chmod 0666 " +
                    shell_quote(dir / "cert.pem"));
    REQUIRE(t.write_file(dir / "cert.pem", "new", 0640));
    CHECK(must_run(t, "stat -c %a " + shell_quote(dir / "cert.pem")) == "640\n");
    CHECK(*t.read_file(dir / "cert.pem", 100) == "new");

    // A large file arrives whole.
    std::string big(3 * 1024 * 1024 + 17, 'x');
    REQUIRE(t.write_file(dir / "big", big, 0644));
    auto back = t.read_file(dir / "big", big.size());
    REQUIRE(back);
    CHECK(*back == big);

    // Never through a symlink.
    REQUIRE(t.symlink("cert.pem", dir / "link"));
    auto through = t.write_file(dir / "link", "evil", 0600);
    REQUIRE_FALSE(through);
    CHECK(through.error().message.find("symbolic link") != std::string::npos);
    CHECK(*t.read_file(dir / "cert.pem", 100) == "new");

    auto missing_dir = t.write_file(dir / "no/such", "x", 0600);
    REQUIRE_FALSE(missing_dir);
    CHECK(missing_dir.error().message ==
          first_host().name + ": cannot write " + dir / "no/such" + ": No such file or directory");
}

TEST_CASE("ssh: stat, symlink, read_link, list_dir, make_dir, remove", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    RemoteDir dir(t);  // connects on first use

    auto missing = t.stat(dir / "missing");
    REQUIRE(missing);
    CHECK_FALSE(missing->exists);
    auto deeper = t.stat(dir / "missing/deeper");
    REQUIRE(deeper);
    CHECK_FALSE(deeper->exists);

    REQUIRE(t.make_dir(dir / "v1", 0750));
    CHECK(must_run(t, "stat -c %a " + shell_quote(dir / "v1")) == "750\n");
    REQUIRE(t.make_dir(dir / "v1", 0700));  // exists: fine, left alone
    CHECK(must_run(t, "stat -c %a " + shell_quote(dir / "v1")) == "750\n");
    REQUIRE(t.write_file(dir / "v1/key.pem", "0123456789", 0600));
    CHECK_FALSE(t.make_dir(dir / "v1/key.pem", 0750));

    REQUIRE(t.symlink("v1", dir / "current"));
    auto target = t.read_link(dir / "current");
    REQUIRE(target);
    CHECK(*target == "v1");
    CHECK(must_run(t, "readlink " + shell_quote(dir / "current")) == "v1\n");
    auto exists = t.symlink("v2", dir / "current");
    REQUIRE_FALSE(exists);
    CHECK(exists.error().message.find("File exists") != std::string::npos);
    auto not_link = t.read_link(dir / "v1/key.pem");
    REQUIRE_FALSE(not_link);
    CHECK(not_link.error().message.find("not a symbolic link") != std::string::npos);

    auto link = t.stat(dir / "current");
    REQUIRE(link);
    CHECK(link->exists);
    CHECK(link->is_symlink);
    CHECK_FALSE(link->is_dir);
    auto d = t.stat(dir / "v1");
    REQUIRE(d);
    CHECK(d->is_dir);
    CHECK(d->mode == 0750);
    auto f = t.stat(dir / "v1/key.pem");
    REQUIRE(f);
    CHECK(f->is_regular);
    CHECK(f->mode == 0600);
    CHECK(f->size == 10);
    CHECK(f->uid == 0);

    auto names = t.list_dir(dir.path);
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"current", "v1"});
    CHECK_FALSE(t.list_dir(dir / "missing"));

    REQUIRE(t.remove(dir / "current"));
    REQUIRE(t.remove(dir / "current"));  // missing is fine
    CHECK_FALSE(t.stat(dir / "current")->exists);
    CHECK_FALSE(t.remove(dir / "v1"));  // a directory is not removed by remove()
    REQUIRE(t.remove_tree(dir / "v1"));
    CHECK_FALSE(t.stat(dir / "v1")->exists);
    REQUIRE(t.remove_tree(dir / "v1"));
}

TEST_CASE("ssh: rename replaces an existing symlink, set_group, fsync_dir, space", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    RemoteDir dir(t);
    REQUIRE(t.make_dir(dir / "v1", 0755));
    REQUIRE(t.make_dir(dir / "v2", 0755));
    REQUIRE(t.symlink("v1", dir / "current"));
    REQUIRE(t.symlink("v2", dir / "current.new"));
    REQUIRE(t.rename(dir / "current.new", dir / "current"));
    CHECK(*t.read_link(dir / "current") == "v2");
    CHECK_FALSE(t.stat(dir / "current.new")->exists);

    // A file over a file, and a name with a quote in it.
    REQUIRE(t.write_file(dir / "it's.tmp", "b", 0644));
    REQUIRE(t.write_file(dir / "a", "a", 0644));
    REQUIRE(t.rename(dir / "it's.tmp", dir / "a"));
    CHECK(*t.read_file(dir / "a", 10) == "b");
    // Never into a directory: rename(2) semantics.
    CHECK_FALSE(t.rename(dir / "a", dir / "v1"));
    auto no_source = t.rename(dir / "nope", dir / "a");
    REQUIRE_FALSE(no_source);
    CHECK(no_source.error().message.find(first_host().name + ": cannot rename " + dir / "nope") ==
          0);

    REQUIRE(t.set_group(dir / "a", "root"));
    CHECK(must_run(t, "stat -c %G " + shell_quote(dir / "a")) == "root\n");
    auto no_group = t.set_group(dir / "a", "certfleet-no-such-group");
    REQUIRE_FALSE(no_group);
    CHECK(no_group.error().message.find("certfleet-no-such-group") != std::string::npos);

    REQUIRE(t.fsync_dir(dir.path));
    CHECK_FALSE(t.fsync_dir(dir / "missing"));

    auto space = t.space(dir.path);
    REQUIRE(space);
    CHECK(space->available_bytes > 0);
    CHECK_FALSE(space->read_only);
}

TEST_CASE("ssh: a full or read-only file system is named as such", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    const std::string root = make_temp_dir("ssh-tmpfs");  // the lab's hosts share this machine
    REQUIRE(::mount("tmpfs", root.c_str(), "tmpfs", 0, "size=16k") == 0);
    struct Unmount {
        std::string path;
        ~Unmount() {
            ::umount(path.c_str());
            ::rmdir(path.c_str());
        }
    } unmount{root};
    auto full = t.write_file(root + "/privkey.pem", std::string(64 * 1024, 'k'), 0600);
    REQUIRE_FALSE(full);
    CHECK(full.error().message ==
          first_host().name + ": cannot write " + root + "/privkey.pem: No space left on device");

    REQUIRE(t.remove(root + "/privkey.pem"));
    REQUIRE(::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, "size=16k") == 0);
    auto space = t.space(root);
    REQUIRE(space);
    CHECK(space->read_only);
    auto ro = t.write_file(root + "/privkey.pem", "k", 0600);
    REQUIRE_FALSE(ro);
    CHECK(ro.error().message ==
          first_host().name + ": cannot write " + root + "/privkey.pem: Read-only file system");
}

TEST_CASE("ssh: an unknown host key is refused with its fingerprint", "[ssh]") {
    const FleetHost& host = first_host();
    const std::string tmp = make_temp_dir("ssh-known-hosts");
    certfleet::testing::write_file(tmp + "/empty", "", 0600);
    SshOptions o = lab_options(host);
    o.known_hosts = tmp + "/empty";
    const std::string message = connect_error(o);
    INFO(message);
    const std::string name = "[" + host.address + "]:" + std::to_string(o.port);
    CHECK(message.find(host.name + ": host key of " + name + " is not in " + o.known_hosts +
                       " (ssh-ed25519 SHA256:") == 0);
    CHECK(message.find("verify it out of band, then add: " + name + " ssh-ed25519 AAAA") !=
          std::string::npos);

    // The fingerprint is the one ssh-keygen prints for the lab's real key.
    auto keygen =
        run_command({"ssh-keygen", "-l", "-F", name, "-f", lab_value("LAB_SSH_KNOWN_HOSTS")});
    REQUIRE(keygen.exit_code == 0);
    const auto at = keygen.out.find("SHA256:");
    REQUIRE(at != std::string::npos);
    const std::string fingerprint = keygen.out.substr(at, keygen.out.find_first_of(" \n", at) - at);
    CHECK(message.find(fingerprint) != std::string::npos);

    // A missing file is a refusal too, never trust on first use.
    o.known_hosts = tmp + "/does-not-exist";
    const std::string missing = connect_error(o);
    CHECK(missing.find(host.name + ": cannot read known_hosts file " + o.known_hosts) == 0);
    CHECK(missing.find(fingerprint) != std::string::npos);
    run_command({"rm", "-rf", tmp});
}

TEST_CASE("ssh: a changed host key is refused loudly", "[ssh]") {
    const FleetHost& host = first_host();
    SshOptions o = lab_options(host);
    o.known_hosts = lab_value("LAB_SSH_KNOWN_HOSTS_WRONG");
    const std::string message = connect_error(o);
    INFO(message);
    const std::string name = "[" + host.address + "]:" + std::to_string(o.port);
    CHECK(message.find(host.name + ": HOST KEY CHANGED for " + name + ": " + o.known_hosts +
                       " line ") == 0);
    CHECK(message.find("has ssh-ed25519 SHA256:") != std::string::npos);
    CHECK(message.find("the host offers ssh-ed25519 SHA256:") != std::string::npos);
    CHECK(message.find("possible man-in-the-middle; nothing was touched") != std::string::npos);
}

TEST_CASE("ssh: hashed known_hosts entries are understood", "[ssh]") {
    const FleetHost& host = first_host();
    const std::string tmp = make_temp_dir("ssh-hashed");
    const std::string file = tmp + "/known_hosts";
    certfleet::testing::write_file(
        file, "# comment\n\n" + certfleet::testing::read_file(lab_value("LAB_SSH_KNOWN_HOSTS")),
        0600);
    auto hashed = run_command({"ssh-keygen", "-H", "-f", file});
    REQUIRE(hashed.exit_code == 0);
    REQUIRE(certfleet::testing::read_file(file).find(host.address) == std::string::npos);
    SshOptions o = lab_options(host);
    o.known_hosts = file;
    SshTransport t(o);
    auto s = t.connect();
    INFO((s ? "" : s.error().message));
    CHECK(s);

    // The wrong key, hashed, is still a changed key on its line.
    const std::string wrong = tmp + "/wrong";
    certfleet::testing::write_file(
        wrong,
        "# first line\n" + certfleet::testing::read_file(lab_value("LAB_SSH_KNOWN_HOSTS_WRONG")),
        0600);
    REQUIRE(run_command({"ssh-keygen", "-H", "-f", wrong}).exit_code == 0);
    o.known_hosts = wrong;
    const std::string message = connect_error(o);
    CHECK(message.find("HOST KEY CHANGED") != std::string::npos);
    CHECK(message.find(wrong + " line 2 has") != std::string::npos);
    run_command({"rm", "-rf", tmp});
}

TEST_CASE("ssh: a wrong identity is refused", "[ssh]") {
    const FleetHost& host = first_host();
    const std::string tmp = make_temp_dir("ssh-identity");
    REQUIRE(run_command({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tmp + "/id_other"})
                .exit_code == 0);
    SshOptions o = lab_options(host);
    o.identity_file = tmp + "/id_other";
    std::string message = connect_error(o);
    INFO(message);
    CHECK(message.find(host.name + ": authentication as root failed (") == 0);
    CHECK(message.find("key " + o.identity_file + ": not accepted by the server") !=
          std::string::npos);
    CHECK(message.find("check ssh.user and ssh.identity_file") != std::string::npos);

    o.identity_file = tmp + "/missing";
    message = connect_error(o);
    CHECK(message.find("key " + o.identity_file + ": No such file or directory") !=
          std::string::npos);
    run_command({"rm", "-rf", tmp});
}

TEST_CASE("ssh: an unreachable address fails within connect_timeout", "[ssh]") {
    SshOptions o = lab_options(first_host());
    o.host_name = "nowhere";
    o.address = "127.0.0.1";
    o.port = 1;
    o.connect_timeout = std::chrono::seconds(2);
    const auto start = Clock::now();
    const std::string message = connect_error(o);
    CHECK(Clock::now() - start < std::chrono::seconds(3));
    CHECK(message.find("nowhere: cannot connect to 127.0.0.1:1: ") == 0);

    // Operations connect on demand and fail the same way.
    SshTransport t(o);
    auto r = t.run("true", std::chrono::seconds(1));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("nowhere: cannot connect") == 0);
}

TEST_CASE("ssh: 20 transports in parallel threads", "[ssh]") {
    // Options are built here: Catch2 assertions are not thread-safe.
    std::vector<SshOptions> options;
    for (const auto& host : fleet()) {
        options.push_back(lab_options(host));
    }
    constexpr int kThreads = 20;
    std::vector<std::string> errors(kThreads);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            SshTransport t(options[static_cast<std::size_t>(i) % options.size()]);
            if (auto s = t.connect(); !s) {
                errors[static_cast<std::size_t>(i)] = s.error().message;
                return;
            }
            auto r = t.run("echo " + std::to_string(i), std::chrono::seconds(20));
            if (!r || r->out != std::to_string(i) + "\n") {
                errors[static_cast<std::size_t>(i)] = r ? "output " + r->out : r.error().message;
                return;
            }
            const std::string path = "/tmp/certfleet-ssh-parallel-" + std::to_string(i);
            auto w = t.write_file(path, std::to_string(i), 0600);
            auto st = t.stat(path);
            auto rm = t.remove(path);
            if (!w || !st || !st->exists || st->mode != 0600 || !rm) {
                errors[static_cast<std::size_t>(i)] = "file operations failed";
                return;
            }
            ++ok;
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const auto& e : errors) {
        INFO(e);
        CHECK(e.empty());
    }
    CHECK(ok == kThreads);
}

TEST_CASE("ssh: renames batched with a command start one remote process", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    RemoteDir dir(t);
    REQUIRE(t.make_dir(dir / "v1", 0755));
    REQUIRE(t.make_dir(dir / "v2", 0755));
    REQUIRE(t.symlink("v1", dir / "current"));
    REQUIRE(t.write_file(dir / "fullchain.pem", "old", 0644));
    REQUIRE(t.symlink("v2", dir / ".current.tmp"));
    REQUIRE(t.symlink("current/fullchain.pem", dir / ".fullchain.pem.tmp"));
    REQUIRE(t.symlink("v2", dir / "fresh.tmp"));
    const std::size_t before = t.commands_started();
    // "fresh" does not exist (SFTP); the two others replace something (mv -Tf).
    auto out = t.rename_then_run({{dir / "fresh.tmp", dir / "fresh"},
                                  {dir / ".current.tmp", dir / "current"},
                                  {dir / ".fullchain.pem.tmp", dir / "fullchain.pem"}},
                                 "readlink " + shell_quote(dir / "current") + "; echo oops >&2",
                                 std::chrono::seconds(20));
    REQUIRE(out);
    CHECK(t.commands_started() == before + 1);
    CHECK(out->exit_code == 0);
    CHECK(out->out == "v2\n");
    CHECK(out->err == "oops\n");  // the batch's own marker is not the command's output
    CHECK(*t.read_link(dir / "fresh") == "v2");
    CHECK(*t.read_link(dir / "fullchain.pem") == "current/fullchain.pem");

    // A rename that fails stops the batch: the command never runs.
    REQUIRE(t.write_file(dir / "ran", "", 0644));
    auto failed = t.rename_then_run({{dir / "missing.tmp", dir / "current"}},
                                    "rm " + shell_quote(dir / "ran"), std::chrono::seconds(20));
    REQUIRE_FALSE(failed);
    CHECK(failed.error().message.find("cannot rename " + dir / "current") != std::string::npos);
    CHECK(t.stat(dir / "ran")->exists);
    CHECK(*t.read_link(dir / "current") == "v2");
}

TEST_CASE("ssh: remove_tree and set_group go over SFTP, no remote process", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    RemoteDir dir(t);
    REQUIRE(t.make_dir(dir / "tree", 0750));
    REQUIRE(t.make_dir(dir / "tree/sub", 0750));
    REQUIRE(t.write_file(dir / "tree/sub/privkey.pem", "k", 0600));
    REQUIRE(t.write_file(dir / "tree/cert.pem", "c", 0640));
    REQUIRE(t.symlink("/etc/passwd", dir / "tree/link"));  // removed, never followed
    const std::size_t before = t.commands_started();
    REQUIRE(t.set_group(dir / "tree/cert.pem", "daemon"));
    REQUIRE(t.set_group(dir / "tree", "daemon"));
    CHECK(t.stat(dir / "tree/cert.pem")->gid == 1);  // daemon is gid 1 on Debian
    REQUIRE(t.remove_tree(dir / "tree"));
    REQUIRE(t.remove_tree(dir / "never-there"));
    CHECK(t.commands_started() == before);
    CHECK_FALSE(t.stat(dir / "tree")->exists);
    CHECK(t.stat("/etc/passwd")->exists);
    // A group /etc/group does not list is left to chgrp (NSS may know it).
    auto unknown = t.set_group(dir.path, "certfleet-no-such-group");
    REQUIRE_FALSE(unknown);
    CHECK(t.commands_started() == before + 1);
}

TEST_CASE("ssh: a deployment starts at most test and reload, adoption one more", "[ssh]") {
    SshTransport t(lab_options(first_host()));
    RemoteDir dir(t);
    HostTarget target;
    target.host_name = first_host().name;
    target.cert_root = dir / "live";
    target.test_command = "true";
    target.reload_command = "true";
    target.key_group = "daemon";
    target.keep_versions = 1;
    target.verify.enabled = false;
    using certfleet::distribute::test::make_material;
    const auto v1 = make_material("media", "20260101T000000Z-aa", 0x101);
    const auto v2 = make_material("media", "20260102T000000Z-bb", 0x102);
    const auto v3 = make_material("media", "20260103T000000Z-cc", 0x103);
    auto commands_for = [&](const Material& m) {
        const std::size_t before = t.commands_started();
        auto out = deploy_version(t, target, m, false);
        INFO(out.error);
        REQUIRE(out.result == DeployResult::Deployed);
        return t.commands_started() - before;
    };
    CHECK(commands_for(v1) == 2);  // first deployment: swap+test, reload
    CHECK(commands_for(v2) == 2);  // steady state
    CHECK(commands_for(v3) == 2);  // with pruning (keep_versions 1)

    // Hand-managed files: adoption's renames are one more.
    target.cert_root = dir / "hand";
    REQUIRE(t.make_dir(dir / "hand", 0750));
    REQUIRE(t.make_dir(dir / "hand/media", 0750));
    REQUIRE(t.write_file(dir / "hand/media/fullchain.pem", v1.fullchain_pem, 0644));
    REQUIRE(t.write_file(dir / "hand/media/privkey.pem", v1.key_pem, 0600));
    CHECK(commands_for(v2) == 3);
}
