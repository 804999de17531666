// RSA host keys. Debian 12's libssh2 1.10 speaks only "ssh-rsa" (SHA-1) for
// them, which OpenSSH >= 8.8 no longer offers by default; servers that still
// do (OpenSSH < 8.8, or HostKeyAlgorithms +ssh-rsa) must be verified as
// strictly as ed25519 ones. This starts its own RSA-only sshd for that.
#include <signal.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "distribute/ssh_transport.hpp"
#include "lab.hpp"

using namespace certfleet;
using namespace certfleet::testing;

namespace {

struct RsaSshd {
    std::string dir = make_temp_dir("rsa-sshd");
    std::string known_hosts = dir + "/known_hosts";
    int port = 22000 + static_cast<int>(::getpid() % 1000);
    RsaSshd() {
        REQUIRE(run_command({"ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f",
                             dir + "/host_rsa"})
                    .exit_code == 0);
        write_file(dir + "/sshd_config",
                   "ListenAddress 127.0.0.1:" + std::to_string(port) + "\nHostKey " + dir +
                       "/host_rsa\nHostKeyAlgorithms +ssh-rsa\nPidFile " + dir +
                       "/sshd.pid\nAuthorizedKeysFile " + Lab::get().dir +
                       "/ssh/authorized_keys\nStrictModes no\nUsePAM no\n"
                       "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                       "Subsystem sftp internal-sftp\n",
                   0600);
        REQUIRE(run_command({"/usr/sbin/sshd", "-f", dir + "/sshd_config", "-E", dir + "/sshd.log"})
                    .exit_code == 0);
        for (int i = 0; i < 50 && run_command({"test", "-s", dir + "/sshd.pid"}).exit_code != 0;
             ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::string pub = read_file(dir + "/host_rsa.pub");
        write_file(
            known_hosts,
            "[127.0.0.1]:" + std::to_string(port) + " " + pub.substr(0, pub.rfind(' ')) + "\n",
            0600);
    }
    ~RsaSshd() { run_command({"sh", "-c", "kill $(cat " + dir + "/sshd.pid)"}); }
    distribute::SshOptions options(const std::string& kh) const {
        distribute::SshOptions o;
        o.host_name = "rsa-host";
        o.address = "127.0.0.1";
        o.port = port;
        o.user = "root";
        o.identity_file = Lab::get().value("LAB_SSH_IDENTITY");
        o.known_hosts = kh;
        o.connect_timeout = core::Seconds(5);
        o.use_agent = false;
        return o;
    }
};

}  // namespace

TEST_CASE("an RSA host key is verified strictly against known_hosts", "[ssh]") {
    RsaSshd sshd;
    distribute::SshTransport good(sshd.options(sshd.known_hosts));
    auto connected = good.connect();
    INFO((connected ? std::string() : connected.error().message));
    REQUIRE(connected);
    auto out = good.run("echo rsa-ok", core::Seconds(10));
    REQUIRE(out);
    CHECK(out->out == "rsa-ok\n");

    // Another RSA key for the same host: refused as a changed host key.
    REQUIRE(run_command({"ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f",
                         sshd.dir + "/other_rsa"})
                .exit_code == 0);
    std::string other = read_file(sshd.dir + "/other_rsa.pub");
    std::string wrong = sshd.dir + "/known_hosts.wrong";
    write_file(
        wrong,
        "[127.0.0.1]:" + std::to_string(sshd.port) + " " + other.substr(0, other.rfind(' ')) + "\n",
        0600);
    distribute::SshTransport bad(sshd.options(wrong));
    auto refused = bad.connect();
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Catch::Contains("HOST KEY CHANGED"));
    CHECK_THAT(refused.error().message, Catch::Contains("ssh-rsa SHA256:"));
}
