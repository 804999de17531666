// The lexicon provider's contract with lexicon: one long-lived driver per
// provider (lexicon imported once, not per record), credentials only in
// LEXICON_<PROVIDER>_AUTH_<NAME> and never on a command line, lexicon's own
// error text (secrets cut out), a missing, hung or crashing lexicon. A
// stand-in `lexicon` package plays lexicon here (the driver imports it from
// the program's folder, as the lexicon program itself would);
// tests/integration/lexicon_test.cpp runs the real one against the lab's
// PowerDNS.
#include "acme/dns/lexicon.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "support/temp_files.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::testing::slurp;
using certfleet::testing::TempDir;

namespace {

const char* const kSecret = "tok-3f9a8b7c6d5e";

void write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
}

// A stand-in lexicon: `DIR/fake-lexicon` (the program: only its #! line and
// folder matter) beside a `lexicon` package whose provider logs every call
// to DIR/calls ("<pid> <action> <name> <content>"), its settings to
// DIR/settings and LEXICON_* variables to DIR/env, and then does what
// DIR/behaviour says (ok, fail, hang, crash).
std::string fake_lexicon(const TempDir& dir, const std::string& behaviour) {
    write(dir / "behaviour", behaviour);
    write(dir / "lexicon/__init__.py", "");
    write(dir / "lexicon/discovery.py", "def find_providers():\n    return {}\n");
    write(dir / "lexicon/config.py",
          "class ConfigResolver:\n"
          "    def with_dict(self, d):\n"
          "        self.d = d\n"
          "        return self\n"
          "    def with_env(self):\n"
          "        return self\n");
    write(dir / "lexicon/client.py", R"PY(import json, os, sys, time
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def note(name, text, mode="a"):
    with open(os.path.join(HERE, name), mode) as f:
        f.write(text)
def behaviour():
    with open(os.path.join(HERE, "behaviour")) as f:
        return f.read().strip()
note("env", "".join(sorted(f"{k}={v}\n" for k, v in os.environ.items() if k.startswith("LEXICON_"))), "w")
note("argv", "\n".join(open(f"/proc/{os.getpid()}/cmdline").read().split("\0")), "w")
class Provider:
    def __init__(self, config):
        note("settings", json.dumps(config.d, sort_keys=True) + "\n")
    def authenticate(self):
        if behaviour() == "fail":
            raise RuntimeError("401 Client Error: Unauthorized for token )PY" +
                                         std::string(kSecret) + R"PY(")
    def call(self, action, name, content):
        b = behaviour()
        if b == "hang":
            time.sleep(30)
        if b == "crash":
            os._exit(3)
        note("calls", f"{os.getpid()} {action} {name} {content}\n")
        return True
    def create_record(self, rtype, name, content):
        return self.call("create", name, content)
    def delete_record(self, identifier, rtype, name, content):
        return self.call("delete", name, content)
class Client:
    def __init__(self, config):
        self.provider = Provider(config)
)PY");
    const std::string program = dir / "fake-lexicon";
    write(program, "#!/usr/bin/python3\nimport sys\nsys.exit('not run by certfleet')\n");
    std::filesystem::permissions(program, std::filesystem::perms::owner_all);
    return program;
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

ChallengeRecord rec(const std::string& value = "v4lue",
                    const std::string& name = "_acme-challenge.pdns.example.net.") {
    return {name, value, "pdns.example.net", "", ""};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

}  // namespace

TEST_CASE("lexicon: one driver for every record; the secret only in lexicon's variable",
          "[dns][lexicon]") {
    TempDir dir;
    auto p = make_lexicon_provider(config(fake_lexicon(dir, "ok")));
    REQUIRE(p);
    const auto other = rec("other", "_acme-challenge.www.pdns.example.net.");
    REQUIRE((*p)->present({rec(), rec("w1ld"), other}));
    REQUIRE((*p)->cleanup({rec(), rec("w1ld"), other}));

    const auto calls = lines_of(slurp(dir / "calls"));
    REQUIRE(calls.size() == 6);
    const std::string pid = calls[0].substr(0, calls[0].find(' '));
    for (const auto& call : calls)
        CHECK(call.starts_with(pid + " "));  // one process: Python and lexicon start once
    CHECK(calls[0] == pid + " create _acme-challenge.pdns.example.net v4lue");
    CHECK(calls[5] == pid + " delete _acme-challenge.www.pdns.example.net other");

    CHECK(slurp(dir / "env") == "LEXICON_POWERDNS_AUTH_TOKEN=" + std::string(kSecret) + "\n");
    CHECK(slurp(dir / "argv").find(kSecret) == std::string::npos);
    const auto settings = lines_of(slurp(dir / "settings"));
    REQUIRE(settings.size() == 2);  // one lexicon client per record name, reused
    CHECK(settings[0].find(R"("delegated": "pdns.example.net")") != std::string::npos);
    CHECK(settings[0].find(R"("powerdns": {"pdns_server": "http://127.0.0.1:8081"})") !=
          std::string::npos);
    CHECK(settings[0].find(R"("ttl": 60)") != std::string::npos);
    CHECK(settings[0].find(kSecret) == std::string::npos);
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
                                  "_acme-challenge.pdns.example.net. failed") != std::string::npos);
    CHECK(st.error().message.find("RuntimeError: 401 Client Error: Unauthorized for token "
                                  "[redacted]") != std::string::npos);
    CHECK(st.error().message.find(kSecret) == std::string::npos);

    // Fixed credentials (here: lexicon that works again) need no restart.
    std::ofstream(dir / "behaviour") << "ok";
    CHECK((*p)->present({rec()}));
}

TEST_CASE("lexicon: missing, hung or crashing lexicon", "[dns][lexicon]") {
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

    // A driver that died is started again for the next request.
    std::ofstream(dir / "behaviour") << "crash";
    st = (*hung)->present({rec()});
    REQUIRE_FALSE(st);
    CHECK(st.error().message.find("exit code 3") != std::string::npos);
    std::ofstream(dir / "behaviour") << "ok";
    CHECK((*hung)->present({rec()}));
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
