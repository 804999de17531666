// The lexicon provider's contract with the lexicon program: argv without
// secrets, credentials only in LEXICON_<PROVIDER>_AUTH_<NAME>, lexicon's own
// error text (secrets cut out), a missing program, a hung one. A stand-in
// script plays lexicon here; tests/integration/lexicon_test.cpp runs the real
// one against the lab's PowerDNS.
#include "acme/dns/lexicon.hpp"

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "support/temp_files.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::testing::slurp;
using certfleet::testing::TempDir;

namespace {

const char* const kSecret = "tok-3f9a8b7c6d5e";

// A lexicon stand-in: records argv and LEXICON_* variables, then behaves as
// $BEHAVIOUR says (ok, fail, hang).
std::string fake_lexicon(const TempDir& dir, const std::string& behaviour) {
    const std::string path = dir / "lexicon";
    std::ofstream(path) << "#!/bin/sh\n"
                           "printf '%s\\n' \"$@\" > '"
                        << (dir / "argv") << "'\n"
                        << "env | grep '^LEXICON_' | sort > '" << (dir / "env") << "'\n"
                        << (behaviour == "fail"
                                ? "echo 'Traceback (most recent call last):' >&2\n"
                                  "echo '  File lexicon/client.py' >&2\n"
                                  "echo \"requests.exceptions.HTTPError: 401 for token " +
                                      std::string(kSecret) +
                                      "\" >&2\n"
                                      "exit 1\n"
                            : behaviour == "hang" ? "exec sleep 30\n"
                                                  : "exit 0\n");
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
}

LexiconConfig config(const std::string& program) {
    LexiconConfig c;
    c.name = "lx";
    c.provider = "powerdns";
    c.options = {{"pdns-server", "http://127.0.0.1:8081"}};
    c.credentials = {{"token", kSecret}};
    c.zone = "pdns.example.net.";
    c.program = program;
    c.timeout = core::Seconds(5);
    return c;
}

ChallengeRecord rec() {
    return {"_acme-challenge.pdns.example.net.", "v4lue", "pdns.example.net", "", ""};
}

}  // namespace

TEST_CASE("lexicon: argv carries no secret; the credential is in lexicon's variable",
          "[dns][lexicon]") {
    TempDir dir;
    auto p = make_lexicon_provider(config(fake_lexicon(dir, "ok")));
    REQUIRE(p);
    REQUIRE((*p)->present({rec()}));
    CHECK(slurp(dir / "argv") ==
          "--delegated\npdns.example.net\npowerdns\n--pdns-server\nhttp://127.0.0.1:8081\n"
          "create\n_acme-challenge.pdns.example.net\nTXT\n--name\n"
          "_acme-challenge.pdns.example.net\n--content\nv4lue\n--ttl\n60\n");
    CHECK(slurp(dir / "env") == "LEXICON_POWERDNS_AUTH_TOKEN=" + std::string(kSecret) + "\n");
    REQUIRE((*p)->cleanup({rec()}));
    CHECK(slurp(dir / "argv").find("\ndelete\n") != std::string::npos);
    CHECK(slurp(dir / "argv").find("--ttl") == std::string::npos);
    CHECK(lexicon_credential_variable("linode4", "api-key") == "LEXICON_LINODE4_AUTH_API_KEY");
}

TEST_CASE("lexicon: its own error text, without the secret, in certfleet's error",
          "[dns][lexicon]") {
    TempDir dir;
    auto p = make_lexicon_provider(config(fake_lexicon(dir, "fail")));
    REQUIRE(p);
    auto st = (*p)->present({rec()});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Dns);
    INFO(st.error().message);
    CHECK(st.error().message.find("lexicon lx (powerdns): lexicon create TXT "
                                  "_acme-challenge.pdns.example.net. failed (exit code 1)") !=
          std::string::npos);
    CHECK(st.error().message.find("HTTPError: 401 for token [redacted]") != std::string::npos);
    CHECK(st.error().message.find(kSecret) == std::string::npos);
    CHECK(st.error().message.find("Traceback") == std::string::npos);  // only the last lines
}

TEST_CASE("lexicon: missing or hung lexicon", "[dns][lexicon]") {
    TempDir dir;
    auto missing = make_lexicon_provider(config(dir / "no-lexicon-here"));
    REQUIRE(missing);
    auto st = (*missing)->present({rec()});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Config);
    CHECK(st.error().hint == "install Debian's lexicon package: apt-get install lexicon");

    auto cfg = config(fake_lexicon(dir, "hang"));
    cfg.timeout = core::Seconds(1);
    auto hung = make_lexicon_provider(cfg);
    REQUIRE(hung);
    const auto start = std::chrono::steady_clock::now();
    st = (*hung)->present({rec()});
    REQUIRE_FALSE(st);
    CHECK(st.error().kind == core::ErrorKind::Timeout);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("lexicon: settings that would put a secret on the command line are refused",
          "[dns][lexicon]") {
    auto c = config("lexicon");
    c.options.push_back({"auth-token", kSecret});
    auto made = make_lexicon_provider(c);
    REQUIRE_FALSE(made);
    CHECK(made.error().message.find("credentials go in \"credentials\"") != std::string::npos);
    CHECK(made.error().message.find(kSecret) == std::string::npos);
    c = config("lexicon");
    c.provider = "power dns; rm";
    CHECK_FALSE(make_lexicon_provider(c));
}
