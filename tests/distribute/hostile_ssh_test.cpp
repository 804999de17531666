// SshTransport against SSH peers on 127.0.0.1 that stall before the session
// is up: silent after accept, a banner and then nothing, a banner trickled a
// byte at a time. Each must fail within its configured timeouts, naming the
// host and the next step. The cases run side by side.
#include <future>

#include "distribute/ssh_transport.hpp"
#include "support/hostile_peer.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using namespace certfleet::distribute;
using namespace certfleet::test::hostile;

namespace {

distribute::SshOptions options_for(const TcpPeer& peer, const std::string& known_hosts) {
    distribute::SshOptions o;
    o.host_name = "edge-1";
    o.address = "127.0.0.1";
    o.port = peer.port();
    o.user = "deploy";
    o.known_hosts = known_hosts;
    o.connect_timeout = core::Seconds(1);
    o.operation_timeout = core::Seconds(1);
    o.use_agent = false;
    return o;
}

struct Outcome {
    core::Error error;
    bool ok = false;
    double seconds = 0;
};

// connect(), then run() on a fresh transport (it connects on its own).
std::pair<Outcome, Outcome> connect_and_run(const distribute::SshOptions& o) {
    std::pair<Outcome, Outcome> out;
    {
        SshTransport t(o);
        const auto start = SteadyClock::now();
        auto s = t.connect();
        out.first = {s.ok() ? core::Error{} : s.error(), s.ok(), seconds_since(start)};
    }
    {
        SshTransport t(o);
        const auto start = SteadyClock::now();
        auto r = t.run("true", core::Seconds(5));
        out.second = {r.ok() ? core::Error{} : r.error(), r.ok(), seconds_since(start)};
    }
    return out;
}

constexpr const char* kBanner = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";

}  // namespace

TEST_CASE("ssh: a peer that stalls before the session is up fails within the timeouts",
          "[hostile][ssh]") {
    testing::TempDir tmp;
    const std::string known_hosts = tmp / "known_hosts";
    { std::ofstream(known_hosts) << ""; }

    TcpPeer silent([](Connection& c) { c.wait_for_close(); });
    TcpPeer banner_only([](Connection& c) {
        c.send(kBanner);
        c.wait_for_close();
    });
    TcpPeer trickle([](Connection& c) {
        // A byte every 300 ms: the banner alone would take 10 s.
        for (const char* p = kBanner; *p != '\0' && c.send(std::string(1, *p)); ++p) {
            c.pause(milliseconds(300));
        }
        c.wait_for_close();
    });
    TcpPeer junk([](Connection& c) {
        // Never a line that starts with "SSH-": a web server on the SSH port.
        while (c.send("HTTP/1.1 400 Bad Request\r\n") && c.pause(milliseconds(100))) {
        }
    });

    std::vector<std::pair<const TcpPeer*, std::future<std::pair<Outcome, Outcome>>>> runs;
    for (const TcpPeer* peer : {&silent, &banner_only, &trickle, &junk}) {
        runs.emplace_back(
            peer, std::async(std::launch::async, connect_and_run, options_for(*peer, known_hosts)));
    }
    for (auto& [peer, future] : runs) {
        const auto [connected, ran] = future.get();
        const std::string where = "127.0.0.1:" + std::to_string(peer->port());
        for (const Outcome& o : {connected, ran}) {
            INFO(o.error.message << " / " << o.error.hint);
            REQUIRE_FALSE(o.ok);
            CHECK(o.error.kind == core::ErrorKind::Timeout);
            CHECK(o.error.message.starts_with("edge-1: SSH handshake with " + where + " failed: "));
            CHECK(
                o.error.message.ends_with("(the server accepted the connection but did not "
                                          "complete the handshake within 1s)"));
            CHECK(contains(o.error.hint, "check that sshd, and not another service, listens"));
            // operation_timeout 1 s; libssh2 counts whole seconds from the call.
            CHECK(o.seconds < 3);
        }
    }
}
