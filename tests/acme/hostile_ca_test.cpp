// The ACME client over the real HTTP client against a hostile CA on
// 127.0.0.1: what the operator reads names the CA's URL and what it did, and
// every case ends within a stated bound (retries included). The slow cases
// run side by side.
#include <future>

#include "acme/client.hpp"
#include "support/hostile_peer.hpp"

using namespace certfleet;
using namespace certfleet::test::hostile;

namespace {

using Step = std::function<void(Connection&, const SeenRequest&)>;

// A CA whose directory (GET /dir) and nonces (HEAD /nonce) are served well
// unless `on_directory` is set; every POST goes to `on_post`.
class HttpCa {
public:
    explicit HttpCa(Step on_post, Step on_directory = {})
        : m_on_post(std::move(on_post)), m_on_directory(std::move(on_directory)) {}

    std::string url(const std::string& path) const { return m_peer.url(path); }
    int posts() const { return m_posts.load(); }
    int connections() const { return m_peer.connections(); }

private:
    void serve(Connection& c) {
        auto request = read_http_request(c);
        if (!request) {
            return;
        }
        if (request->method == "HEAD") {
            c.send(http_response(200, "", {nonce()}));
        } else if (request->method == "GET" && m_on_directory) {
            m_on_directory(c, *request);
        } else if (request->method == "GET") {
            const std::string directory = R"({"newNonce":")" + url("/nonce") +
                                          R"(","newAccount":")" + url("/acct") +
                                          R"(","newOrder":")" + url("/order") + R"("})";
            c.send(http_response(200, directory));
        } else {
            ++m_posts;
            m_on_post(c, *request);
        }
    }
    std::string nonce() { return "Replay-Nonce: n" + std::to_string(++m_nonces); }

    Step m_on_post, m_on_directory;
    std::atomic<int> m_posts{0}, m_nonces{0};
    TcpPeer m_peer{[this](Connection& c) { serve(c); }};
};

Step respond(int status, std::string body, std::vector<std::string> headers = {},
             std::string type = "application/problem+json") {
    return [=](Connection& c, const SeenRequest&) {
        c.send(http_response(status, body, headers, type));
    };
}

std::string problem(const std::string& type, const std::string& detail) {
    return R"({"type":"urn:ietf:params:acme:error:)" + type + R"(","detail":")" + detail + "\"}";
}

acme::ClientOptions fast_retries(int transient = 3) {
    acme::ClientOptions o;
    o.first_backoff = milliseconds(1);
    o.max_transient_retries = transient;
    return o;
}

struct Outcome {
    core::Error error;
    bool ok = false;
    double seconds = 0;
};

Outcome connect_to(const HttpCa& ca, acme::ClientOptions options = fast_retries()) {
    core::CurlHttpClient http(tight_http_options());
    acme::AcmeClient client(http, ca.url("/dir"), options);
    const auto start = SteadyClock::now();
    auto s = client.connect();
    return {s.ok() ? core::Error{} : s.error(), s.ok(), seconds_since(start)};
}

// Connects well, then asks for a new order (or answers a challenge).
Outcome order_from(const HttpCa& ca, acme::ClientOptions options = fast_retries(),
                   bool challenge = false, core::HttpOptions http_options = tight_http_options()) {
    core::CurlHttpClient http(http_options);
    acme::AcmeClient client(http, ca.url("/dir"), options);
    if (auto s = client.connect(); !s) {
        return {s.error(), false, 0};
    }
    client.use_account(*core::PrivateKey::generate(core::KeyType::EcdsaP256), ca.url("/acct/1"));
    const auto start = SteadyClock::now();
    core::Status s;
    if (challenge) {
        s = client.answer_challenge(acme::Challenge{.type = "dns-01",
                                                    .url = ca.url("/chall/1"),
                                                    .status = "pending",
                                                    .token = "t",
                                                    .error = std::nullopt});
    } else if (auto order = client.new_order({"a.test"}, "", ""); !order) {
        s = order.failure();
    }
    return {s.ok() ? core::Error{} : s.error(), s.ok(), seconds_since(start)};
}

}  // namespace

TEST_CASE("acme: a directory that is not one names the URL and what came back", "[hostile][acme]") {
    HttpCa not_json({}, respond(200, "this is not JSON", {}, "application/json"));
    HttpCa html({}, respond(200, "<html><h1>Welcome to nginx!</h1></html>", {}, "text/html"));
    HttpCa truncated({}, respond(200, R"({"newNonce": "https://ca.exa)", {}, "application/json"));
    HttpCa wrong_shape({}, respond(200, R"({"hello": "world"})", {}, "application/json"));
    for (const HttpCa* ca : {&not_json, &html, &truncated, &wrong_shape}) {
        const Outcome o = connect_to(*ca);
        INFO(o.error.message);
        REQUIRE_FALSE(o.ok);
        CHECK(o.error.kind == core::ErrorKind::Protocol);
        CHECK(o.error.message.starts_with("ACME directory " + ca->url("/dir") + ": "));
        CHECK(o.error.hint == "check acme.directory points at an ACME server");
        CHECK(ca->connections() == 1);  // garbage is not retried
        CHECK(o.seconds < 2);
    }
    CHECK(contains(connect_to(html).error.message,
                   "the CA's answer is not JSON (HTTP 200, text/html): <html><h1>Welcome"));
    CHECK(contains(connect_to(wrong_shape).error.message, "malformed directory"));
}

TEST_CASE("acme: a redirect is an error naming both URLs, for GET and POST", "[hostile][acme]") {
    HttpCa loop({}, [](Connection& c, const SeenRequest& r) {
        c.send(http_response(301, "", {"Location: " + r.path}));
    });
    const Outcome o = connect_to(loop);
    INFO(o.error.message);
    REQUIRE_FALSE(o.ok);
    CHECK(o.error.message == "ACME directory " + loop.url("/dir") + ": the CA redirected GET " +
                                 loop.url("/dir") + " to /dir (HTTP 301); certfleet does not " +
                                 "follow redirects");
    CHECK(contains(o.error.hint, "acme.directory"));
    CHECK(loop.connections() == 1);

    HttpCa post_loop([](Connection& c, const SeenRequest& r) {
        c.send(http_response(302, "", {"Location: " + r.path, "Replay-Nonce: r1"}));
    });
    for (bool challenge : {false, true}) {
        const Outcome p = order_from(post_loop, fast_retries(), challenge);
        INFO(p.error.message);
        REQUIRE_FALSE(p.ok);  // a challenge "answered" with a redirect is not answered
        CHECK(contains(p.error.message, "the CA redirected POST " + post_loop.url("/")));
        CHECK(p.seconds < 2);
    }
    CHECK(post_loop.posts() == 2);
}

TEST_CASE("acme: badNonce forever gives up after the bounded retries", "[hostile][acme]") {
    HttpCa ca([n = std::make_shared<std::atomic<int>>(0)](Connection& c, const SeenRequest&) {
        c.send(http_response(400, problem("badNonce", "JWS has an invalid anti-replay nonce"),
                             {"Replay-Nonce: bad" + std::to_string(++*n)},
                             "application/problem+json"));
    });
    const Outcome o = order_from(ca);
    INFO(o.error.message);
    REQUIRE_FALSE(o.ok);
    CHECK(o.error.message == "new ACME order (" + ca.url("/order") +
                                 "): the CA answered badNonce: JWS has an invalid anti-replay " +
                                 "nonce (still after 12 retries with fresh nonces)");
    CHECK(ca.posts() == 13);
    CHECK(o.seconds < 3);
}

TEST_CASE("acme: stalls, drips, 503 with Retry-After and huge answers end within bounds",
          "[hostile][acme]") {
    // 503 forever, asking for 1 s each time: honoured, then given up.
    HttpCa unavailable(respond(503, problem("serverInternal", "maintenance"),
                               {"Retry-After: 1", "Replay-Nonce: u1"}));
    // Retry-After beyond longest_wait (60 s), as an HTTP date: fails at once.
    HttpCa far_future(respond(503, problem("serverInternal", "maintenance"),
                              {"Retry-After: Fri, 31 Dec 2100 23:59:59 GMT"}));
    HttpCa silent([](Connection& c, const SeenRequest&) { c.wait_for_close(); });
    HttpCa drip({}, [](Connection& c, const SeenRequest&) {
        c.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9999\r\n\r\n");
        while (c.send(" ") && c.pause(milliseconds(900))) {
        }
    });
    HttpCa huge({}, [](Connection& c, const SeenRequest&) {
        c.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
        for (int i = 0; i < 1024 && c.send(std::string(64 * 1024, ' ')); ++i) {
        }
    });
    HttpCa hang_up({},
                   [](Connection& c, const SeenRequest&) { c.send("HTTP/1.1 200 OK\r\nCont"); });

    auto unavailable_run =
        std::async(std::launch::async, [&] { return order_from(unavailable, fast_retries(2)); });
    // A POST's upload counts as progress for curl's stall check (averaged over
    // 5 s), so a CA that takes the request and goes quiet meets total_timeout.
    core::HttpOptions two_seconds = tight_http_options();
    two_seconds.total_timeout = core::Seconds(2);
    auto silent_run = std::async(std::launch::async, [&] {
        return order_from(silent, fast_retries(1), false, two_seconds);
    });
    auto drip_run =
        std::async(std::launch::async, [&] { return connect_to(drip, fast_retries(1)); });

    const Outcome far = order_from(far_future);
    CHECK(contains(far.error.message, "the CA answered serverInternal: maintenance"));
    CHECK(far_future.posts() == 1);
    CHECK(far.seconds < 2);

    const Outcome big = connect_to(huge);
    INFO(big.error.message);
    CHECK(big.error.message == "ACME directory " + huge.url("/dir") + ": GET " + huge.url("/dir") +
                                   ": response larger than 65536 bytes; refusing it");
    CHECK(huge.connections() == 1);  // a hostile answer is not asked for again
    CHECK(big.seconds < 2);

    const Outcome cut = connect_to(hang_up);
    INFO(cut.error.message);
    CHECK(cut.error.message.starts_with("ACME directory " + hang_up.url("/dir") + ": GET " +
                                        hang_up.url("/dir") + " failed: "));
    CHECK(hang_up.connections() == 4);  // a network fault: three retries
    CHECK(cut.seconds < 2);

    const Outcome u = unavailable_run.get();
    INFO(u.error.message);
    CHECK(u.error.message == "new ACME order (" + unavailable.url("/order") +
                                 "): the CA answered serverInternal: maintenance");
    CHECK(unavailable.posts() == 3);
    CHECK(u.seconds >= 2);  // Retry-After: 1 honoured twice (the backoff alone is 1 ms)
    CHECK(u.seconds < 4);

    const Outcome s = silent_run.get();
    INFO(s.error.message);
    CHECK(s.error.kind == core::ErrorKind::Timeout);
    CHECK(s.error.message.starts_with("new ACME order (" + silent.url("/order") + "): POST " +
                                      silent.url("/order") + " failed: Operation timed out"));
    CHECK(silent.posts() == 2);
    CHECK(s.seconds < 5);  // two attempts of total_timeout 2 s

    const Outcome d = drip_run.get();
    INFO(d.error.message);
    CHECK(d.error.kind == core::ErrorKind::Timeout);
    CHECK(d.error.message.starts_with("ACME directory " + drip.url("/dir") + ": GET " +
                                      drip.url("/dir") + " failed: Operation too slow"));
    CHECK(drip.connections() == 2);
    CHECK(d.seconds < 6);
}
