// The ACME client's retry and politeness rules against a scripted fake CA.
#include <deque>
#include <functional>

#include <catch2/catch.hpp>

#include "acme/client.hpp"
#include "acme/issuer.hpp"
#include "acme/jws.hpp"

using namespace certfleet;
using nlohmann::json;

namespace {

core::HttpResponse reply(int status, std::string body = "{}",
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    core::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

json problem(const std::string& type, const std::string& detail = "") {
    return {{"type", "urn:ietf:params:acme:error:" + type}, {"detail", detail}};
}

// Answers GET directory and HEAD newNonce itself; POSTs go to a script.
class FakeCa : public core::HttpClient {
public:
    std::deque<std::function<core::HttpResponse(const core::HttpRequest&)>> script;
    std::vector<core::HttpRequest> posts;
    int nonce_counter = 0;
    json directory = {{"newNonce", "https://ca/nonce"},
                      {"newAccount", "https://ca/acct"},
                      {"newOrder", "https://ca/order"},
                      {"revokeCert", "https://ca/revoke"},
                      {"keyChange", "https://ca/key-change"}};

    core::Result<core::HttpResponse> send(const core::HttpRequest& req) override {
        if (req.method == "GET")
            return reply(200, directory.dump());
        if (req.method == "HEAD")
            return with_nonce(reply(200, ""));
        posts.push_back(req);
        REQUIRE_FALSE(script.empty());
        auto next = script.front();
        script.pop_front();
        return with_nonce(next(req));
    }
    std::string nonce_override;  // every Replay-Nonce, when set
    core::HttpResponse with_nonce(core::HttpResponse r) {
        r.headers.emplace_back("replay-nonce", nonce_override.empty()
                                                   ? "n" + std::to_string(++nonce_counter)
                                                   : nonce_override);
        return r;
    }
    void then(int status, json body,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
        script.push_back(
            [=](const core::HttpRequest&) { return reply(status, body.dump(), headers); });
    }
};

json protected_header(const core::HttpRequest& req) {
    auto jws = json::parse(req.body);
    return json::parse(*core::base64url_decode(jws["protected"].get<std::string>()));
}

acme::ClientOptions fast_options() {
    acme::ClientOptions o;
    o.first_backoff = std::chrono::milliseconds(1);
    o.first_poll = std::chrono::milliseconds(1);
    o.longest_poll = std::chrono::milliseconds(5);
    return o;
}

struct Fixture {
    FakeCa ca;
    acme::AcmeClient client{ca, "https://ca/dir", fast_options()};
    core::PrivateKey key = *core::PrivateKey::generate(core::KeyType::EcdsaP256);
    Fixture() {
        REQUIRE(client.connect());
        client.use_account(key, "https://ca/acct/1");
    }
};

}  // namespace

TEST_CASE("badNonce is retried with the nonce from the error, and only a bounded number of times",
          "[acme]") {
    Fixture f;
    f.ca.then(400, problem("badNonce"));
    f.ca.then(400, problem("badNonce"));
    f.ca.then(200, {{"status", "valid"}, {"identifier", {{"type", "dns"}, {"value", "a.test"}}}});
    auto authz = f.client.get_authorization("https://ca/authz/1");
    REQUIRE(authz);
    CHECK(authz->status == "valid");
    REQUIRE(f.ca.posts.size() == 3);
    // Each retry signs with the nonce the previous error carried (n2, then n3).
    CHECK(protected_header(f.ca.posts[1])["nonce"] == "n2");
    CHECK(protected_header(f.ca.posts[2])["nonce"] == "n3");
    CHECK(protected_header(f.ca.posts[2])["kid"] == "https://ca/acct/1");

    acme::ClientOptions strict = fast_options();
    strict.max_bad_nonce_retries = 2;
    FakeCa ca2;
    acme::AcmeClient c2(ca2, "https://ca/dir", strict);
    REQUIRE(c2.connect());
    c2.use_account(f.key, "https://ca/acct/1");
    for (int i = 0; i < 5; ++i)
        ca2.then(400, problem("badNonce"));
    auto failed = c2.get_authorization("https://ca/authz/1");
    REQUIRE_FALSE(failed);
    CHECK(failed.error().acme_type == "urn:ietf:params:acme:error:badNonce");
    CHECK(ca2.posts.size() == 3);  // one try + two retries, never a loop
}

TEST_CASE("a rate limit is surfaced with its retry time, not retried", "[acme]") {
    Fixture f;
    f.ca.then(429, problem("rateLimited", "too many certificates for example.org"),
              {{"retry-after", "3600"}});
    auto order = f.client.new_order({"example.org"}, "", "");
    REQUIRE_FALSE(order);
    CHECK(order.error().kind == core::ErrorKind::RateLimited);
    REQUIRE(order.error().retry_after_seconds);
    CHECK(*order.error().retry_after_seconds == 3600);
    CHECK_THAT(order.error().message, Catch::Contains("too many certificates"));
    CHECK(f.ca.posts.size() == 1);
}

TEST_CASE("server faults back off a bounded number of times", "[acme]") {
    Fixture f;
    for (int i = 0; i < 10; ++i)
        f.ca.then(503, problem("serverInternal", "maintenance"));
    auto order = f.client.new_order({"example.org"}, "", "");
    REQUIRE_FALSE(order);
    CHECK(f.ca.posts.size() == 4);  // first try + max_transient_retries (3)
    CHECK_THAT(order.error().message, Catch::Contains("serverInternal"));
}

TEST_CASE("a Retry-After longer than the client will wait fails at once", "[acme]") {
    Fixture f;
    f.ca.then(503, problem("serverInternal"), {{"retry-after", "86400"}});
    auto order = f.client.new_order({"example.org"}, "", "");
    REQUIRE_FALSE(order);
    CHECK(f.ca.posts.size() == 1);
}

TEST_CASE("authorization polling stops at the deadline and names the identifier", "[acme]") {
    Fixture f;
    for (int i = 0; i < 200; ++i)
        f.ca.then(200, {{"status", "pending"},
                        {"identifier", {{"type", "dns"}, {"value", "slow.test"}}}});
    auto r = f.client.wait_authorization(
        "https://ca/authz/9", std::chrono::steady_clock::now() + std::chrono::milliseconds(60));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == core::ErrorKind::Timeout);
    CHECK_THAT(r.error().message, Catch::Contains("slow.test"));
    CHECK(f.ca.posts.size() < 200);
}

TEST_CASE("new account registration embeds the JWK and an EAB binding", "[acme]") {
    FakeCa ca;
    acme::AcmeClient client(ca, "https://ca/dir", fast_options());
    REQUIRE(client.connect());
    auto key = *core::PrivateKey::generate(core::KeyType::EcdsaP256);
    ca.then(201, {{"status", "valid"}}, {{"location", "https://ca/acct/7"}});
    acme::NewAccountOptions opts;
    opts.contact = {"mailto:ops@example.org"};
    opts.accept_terms = true;
    opts.eab_kid = "kid-1";
    opts.eab_mac_key = "0123456789abcdef0123456789abcdef";
    auto url = client.register_account(key, opts);
    REQUIRE(url);
    CHECK(*url == "https://ca/acct/7");
    auto header = protected_header(ca.posts[0]);
    CHECK(header.contains("jwk"));
    CHECK_FALSE(header.contains("kid"));
    auto payload = json::parse(
        *core::base64url_decode(json::parse(ca.posts[0].body)["payload"].get<std::string>()));
    CHECK(payload["termsOfServiceAgreed"] == true);
    auto eab = payload["externalAccountBinding"];
    auto eab_header = json::parse(*core::base64url_decode(eab["protected"].get<std::string>()));
    CHECK(eab_header["alg"] == "HS256");
    CHECK(eab_header["kid"] == "kid-1");
    CHECK(eab_header["url"] == "https://ca/acct");
    std::string mac =
        core::hmac_sha256(opts.eab_mac_key, eab["protected"].get<std::string>() + "." +
                                                eab["payload"].get<std::string>());
    CHECK(core::base64url_encode(mac) == eab["signature"]);
    CHECK(json::parse(*core::base64url_decode(eab["payload"].get<std::string>())) ==
          key.public_jwk());
}

TEST_CASE("a CA that requires EAB is refused without one, before any POST", "[acme]") {
    FakeCa ca;
    ca.directory["meta"] = {{"externalAccountRequired", true}};
    acme::AcmeClient client(ca, "https://ca/dir", fast_options());
    REQUIRE(client.connect());
    acme::NewAccountOptions opts;
    opts.accept_terms = true;
    auto r = client.register_account(*core::PrivateKey::generate(core::KeyType::EcdsaP256), opts);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().hint, Catch::Contains("acme.eab"));
    CHECK(ca.posts.empty());
}

TEST_CASE("garbage from the CA is a protocol error, not a crash", "[acme]") {
    FakeCa ca;
    ca.directory = json{{"hello", "world"}};
    acme::AcmeClient client(ca, "https://ca/dir", fast_options());
    auto s = client.connect();
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == core::ErrorKind::Protocol);

    Fixture f;
    f.ca.script.push_back([](const core::HttpRequest&) { return reply(200, "<html>not json"); });
    auto order = f.client.new_order({"a.test"}, "", "");
    REQUIRE_FALSE(order);
    CHECK(order.error().kind == core::ErrorKind::Protocol);
}

TEST_CASE("problem documents keep subproblems and give hints", "[acme]") {
    auto p = acme::parse_problem(
        R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"bad names","status":400,
            "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"forbidden",
            "identifier":{"type":"dns","value":"x.example"}}]})",
        400);
    CHECK(p.short_type() == "rejectedIdentifier");
    REQUIRE(p.subproblems.size() == 1);
    CHECK(p.subproblems[0].identifier == "x.example");
    auto e = acme::problem_to_error(p, "new order", std::nullopt);
    CHECK_THAT(e.message, Catch::Contains("x.example: forbidden"));
    CHECK_FALSE(e.hint.empty());
    auto html = acme::parse_problem("<h1>502 Bad Gateway</h1>", 502);
    CHECK(html.type == "about:blank");
    CHECK_THAT(html.detail, Catch::Contains("502"));
}

TEST_CASE("key rollover signs the inner JWS with the new key and switches to it", "[acme]") {
    Fixture f;
    auto new_key = *core::PrivateKey::generate(core::KeyType::EcdsaP384);
    f.ca.then(200, json::object());
    REQUIRE(f.client.change_key(new_key));
    auto outer = json::parse(f.ca.posts[0].body);
    auto inner = json::parse(*core::base64url_decode(outer["payload"].get<std::string>()));
    auto inner_header = json::parse(*core::base64url_decode(inner["protected"].get<std::string>()));
    CHECK(inner_header["alg"] == "ES384");
    CHECK(inner_header["jwk"] == new_key.public_jwk());
    CHECK_FALSE(inner_header.contains("nonce"));
    auto inner_payload = json::parse(*core::base64url_decode(inner["payload"].get<std::string>()));
    CHECK(inner_payload["account"] == "https://ca/acct/1");
    CHECK(inner_payload["oldKey"] == f.key.public_jwk());
    CHECK(f.client.account_thumbprint() == new_key.jwk_thumbprint());
}

TEST_CASE("DNS-01 TXT value is base64url(SHA-256(key authorization))", "[acme]") {
    // RFC 8555 §8.4 construction; value computed independently with
    // `printf %s token.thumb | openssl dgst -sha256 -binary | basenc --base64url`.
    CHECK(acme::dns01_txt_value("token.thumb") == "lCdftpJCXapaZHkBGIZbcubeKW8RmA0jSG_aZN01zbU");
}

TEST_CASE("an account answer with a status of the wrong type is no exception", "[acme]") {
    // Found with the problem-document case in acme_parse_test.cpp while
    // writing fuzz/acme_json_fuzz.cpp: json::value("status", "") throws
    // type_error.302 when the member is not a string.
    FakeCa ca;
    acme::AcmeClient client(ca, "https://ca/dir", fast_options());
    REQUIRE(client.connect());
    ca.then(201, {{"status", 1}}, {{"location", "https://ca/acct/8"}});
    acme::NewAccountOptions opts;
    opts.accept_terms = true;
    core::Result<std::string> url = core::fail(core::ErrorKind::Generic, "not called");
    REQUIRE_NOTHROW(
        url = client.register_account(*core::PrivateKey::generate(core::KeyType::EcdsaP256), opts));
    REQUIRE(url);
    CHECK(*url == "https://ca/acct/8");
}

TEST_CASE("a CA's URLs must be https (or a loopback IP) and printable ASCII", "[acme]") {
    SECTION("a directory entry over plain http to a name is refused before any request") {
        FakeCa ca;
        ca.directory["newOrder"] = "http://ca.example/order";
        acme::AcmeClient client(ca, "https://ca/dir", fast_options());
        auto s = client.connect();
        REQUIRE_FALSE(s);
        CHECK(s.error().kind == core::ErrorKind::Protocol);
        CHECK_THAT(s.error().message, Catch::Contains("not https: http://ca.example/order"));
    }
    SECTION("plain http to an explicit loopback IP is a CA on this machine") {
        FakeCa ca;
        ca.directory["newOrder"] = "http://127.0.0.1:14000/order";
        ca.directory["newAccount"] = "http://[::1]:14000/acct";
        acme::AcmeClient client(ca, "https://ca/dir", fast_options());
        CHECK(client.connect());
        ca.directory["newOrder"] = "http://127.0.0.1.example:14000/order";
        acme::AcmeClient fooled(ca, "https://ca/dir", fast_options());
        CHECK_FALSE(fooled.connect());
    }
    SECTION("an account Location with invalid UTF-8 is an error, not an exception") {
        FakeCa ca;
        acme::AcmeClient client(ca, "https://ca/dir", fast_options());
        REQUIRE(client.connect());
        ca.then(201, {{"status", "valid"}}, {{"location", "https://ca/acct/\xFF\xFE"}});
        acme::NewAccountOptions opts;
        opts.accept_terms = true;
        auto url =
            client.register_account(*core::PrivateKey::generate(core::KeyType::EcdsaP256), opts);
        REQUIRE_FALSE(url);
        CHECK_THAT(url.error().message, Catch::Contains("control or non-ASCII"));
        CHECK(url.error().message.find('\xFF') == std::string::npos);
    }
    SECTION("an order Location with an escape sequence is refused") {
        Fixture f;
        f.ca.then(201, {{"status", "pending"}}, {{"location", "https://ca/o/1\x1B[2J"}});
        auto order = f.client.new_order({"a.test"}, "", "");
        REQUIRE_FALSE(order);
        CHECK(order.error().kind == core::ErrorKind::Protocol);
    }
}

TEST_CASE("a Replay-Nonce that is not base64url never reaches a signed header", "[acme]") {
    Fixture f;
    f.ca.nonce_override = "bad nonce\xFF";
    f.ca.then(201, {{"status", "pending"}}, {{"location", "https://ca/o/1"}});
    auto order = f.client.new_order({"a.test"}, "", "");
    REQUIRE_FALSE(order);
    CHECK(order.error().kind == core::ErrorKind::Protocol);
    CHECK_THAT(order.error().message, Catch::Contains("not base64url"));
    CHECK(f.ca.posts.empty());  // the newNonce answer was refused before signing
}
