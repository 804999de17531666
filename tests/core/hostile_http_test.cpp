// core::CurlHttpClient against hostile HTTP servers on 127.0.0.1: every
// failure comes within a stated bound and its message names the URL and what
// went wrong. The slow cases run side by side to keep the suite quick.
#include <future>

#include "core/http.hpp"
#include "support/hostile_peer.hpp"

using namespace certfleet;
using namespace certfleet::test::hostile;

namespace {

struct Timed {
    std::optional<core::HttpResponse> response;
    core::Error error;
    double seconds = 0;
};

Timed timed_get(const std::string& url, const core::HttpOptions& options = tight_http_options()) {
    core::CurlHttpClient http(options);
    const auto start = SteadyClock::now();
    auto r = http.send({"GET", url, {}, {}});
    Timed t;
    t.seconds = seconds_since(start);
    if (r) {
        t.response = std::move(*r);
    } else {
        t.error = r.error();
    }
    return t;
}

std::future<Timed> in_background(const std::string& url,
                                 const core::HttpOptions& options = tight_http_options()) {
    return std::async(std::launch::async, [url, options] { return timed_get(url, options); });
}

// A response that announces a body and then sends `byte` every `every`, forever.
void drip(Connection& c, milliseconds every, bool in_headers) {
    read_http_request(c);
    c.send(in_headers ? "HTTP/1.1 200 OK\r\nX-Drip: "
                      : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100000\r\n\r\n{");
    while (c.send(" ") && c.pause(every)) {
    }
}

}  // namespace

TEST_CASE("http: a stalled or dripping server fails within the stall or total limit",
          "[hostile][http]") {
    TcpPeer silent([](Connection& c) { c.wait_for_close(); });
    TcpPeer drip_body([](Connection& c) { drip(c, milliseconds(900), false); });
    TcpPeer drip_headers([](Connection& c) { drip(c, milliseconds(900), true); });
    // Fast enough for the stall check (40 B/s), endless: only total_timeout ends it.
    TcpPeer steady([](Connection& c) { drip(c, milliseconds(25), false); });

    auto never_answered = in_background(silent.url("/dir"));
    auto dripped_body = in_background(drip_body.url("/dir"));
    auto dripped_headers = in_background(drip_headers.url("/dir"));
    auto endless = in_background(steady.url("/dir"));

    for (auto* f : {&never_answered, &dripped_body, &dripped_headers}) {
        const Timed t = f->get();
        INFO(t.error.message);
        REQUIRE_FALSE(t.response);
        CHECK(t.error.kind == core::ErrorKind::Timeout);
        CHECK(contains(t.error.message, "GET http://127.0.0.1:"));
        CHECK(contains(t.error.message, "/dir failed: Operation too slow"));
        CHECK_FALSE(t.error.hint.empty());
        CHECK(t.seconds < 3.5);  // stall_timeout 1 s (+ curl's one-second speed sampling)
    }
    const Timed t = endless.get();
    INFO(t.error.message);
    REQUIRE_FALSE(t.response);
    CHECK(t.error.kind == core::ErrorKind::Timeout);
    CHECK(contains(t.error.message, steady.url("/dir") + " failed: Operation timed out after"));
    CHECK(t.seconds >= 2.9);
    CHECK(t.seconds < 4.5);  // total_timeout 3 s
}

TEST_CASE("http: a huge body is cut at max_body_bytes, not buffered", "[hostile][http]") {
    std::atomic<std::size_t> sent{0};
    auto endless = [&sent](Connection& c, const std::string& head) {
        read_http_request(c);
        c.send(head);
        const std::string block(64 * 1024, 'x');
        // Bounded: far more than the client takes, far less than a test would notice.
        for (int i = 0; i < 4096 && c.send(block); ++i) {
            sent += block.size();
        }
    };
    TcpPeer chunked([&](Connection& c) {
        endless(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
    });
    TcpPeer announced([&](Connection& c) {
        endless(c, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
    });
    for (const TcpPeer* peer : {&chunked, &announced}) {
        const Timed t = timed_get(peer->url("/big"));
        INFO(t.error.message);
        REQUIRE_FALSE(t.response);
        CHECK(t.error.kind == core::ErrorKind::Protocol);
        CHECK(t.error.message ==
              "GET " + peer->url("/big") + ": response larger than 65536 bytes; refusing it");
        CHECK(t.seconds < 2);
    }
    // What the server pushed before the client hung up is what the kernel's
    // socket buffers hold, not the gigabyte it announced.
    CHECK(sent.load() < 64u * 1024 * 1024);
}

TEST_CASE("http: a redirect is returned as it is, never followed", "[hostile][http]") {
    TcpPeer loop([](Connection& c) {
        if (read_http_request(c)) {
            c.send(http_response(301, "", {"Location: /dir"}));
        }
    });
    const Timed t = timed_get(loop.url("/dir"));
    REQUIRE(t.response);
    CHECK(t.response->status == 301);
    CHECK(t.response->header("location") == "/dir");
    CHECK(loop.connections() == 1);
    CHECK(t.seconds < 2);
}

TEST_CASE("http: a server that hangs up mid-headers or mid-body is a network error",
          "[hostile][http]") {
    TcpPeer mid_headers([](Connection& c) {
        if (read_http_request(c)) {
            c.send("HTTP/1.1 200 OK\r\nContent-Type: applica");
        }
    });
    TcpPeer mid_body([](Connection& c) {
        if (read_http_request(c)) {
            c.send("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n{\"newNonce\": \"http");
        }
    });
    TcpPeer at_once([](Connection&) {});
    for (const TcpPeer* peer : {&mid_headers, &mid_body, &at_once}) {
        const Timed t = timed_get(peer->url("/dir"));
        INFO(t.error.message);
        REQUIRE_FALSE(t.response);
        CHECK(t.error.kind == core::ErrorKind::Network);
        CHECK(t.error.message.starts_with("GET " + peer->url("/dir") + " failed: "));
        CHECK(t.seconds < 2);
    }
}
