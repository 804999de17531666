// Secrets stay secret: every command, at -vv, in success and failure, with an
// EAB account (RSA, so its JWK has d, p, q, ...), TSIG updates, a mail server
// that wants a password, an exec DNS hook, hooks and every notifier — and then
// everything certfleet printed, stored, deployed or sent is searched for any
// 16-character piece of any private key, TSIG secret, EAB key or password.
// certfleet runs under umask 0 here, so every mode it gets right it sets itself.
#include <filesystem>
#include <iterator>
#include <sstream>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "fleet_support.hpp"
#include "notify_support.hpp"
#include "secrets_support.hpp"

using namespace certfleet;
using namespace certfleet::testing;
using nlohmann::json;

namespace {

struct UmaskGuard {
    mode_t old;
    explicit UmaskGuard(mode_t mask) : old(::umask(mask)) {}
    ~UmaskGuard() { ::umask(old); }
};

// Records how it was called (argv, environment, the file descriptors it
// inherited, stdin when asked) in LOG, prints its environment to stdout (what
// a careless hook does; certfleet logs hook output), then runs THEN, if any.
std::string recorder(const std::string& log, bool with_stdin, const std::string& then = {}) {
    return "#!/bin/sh\n{ echo \"== argv: $0 $*\"; env | sort; echo \"fds:\"; ls -l /proc/$$/fd; " +
           std::string(with_stdin ? "echo stdin:; cat; echo; " : "") + "} >> '" + log + "' 2>&1\n" +
           (then.empty() ? "env | sort\n" : "exec '" + then + "' \"$@\"\n");
}

// Lines of the recorders' "ls -l /proc/$$/fd" that point at a file holding a secret.
std::vector<std::string> inherited_secret_fds(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find(" -> ") != std::string::npos)
            for (const char* secret : {"privkey.pem", "key.pem", ".secret", ".pass", "eab.key"})
                if (line.find(secret) != std::string::npos)
                    out.push_back(line);
    return out;
}

}  // namespace

TEST_CASE("secrets: no command at -vv prints, stores, deploys or sends a secret", "[secrets]") {
    const Lab& lab = Lab::get();
    const auto hosts = lab.hosts();
    REQUIRE(hosts.size() >= 2);
    {
        auto probe = run_command({kPython, "-c", "import aiosmtpd"});
        INFO("aiosmtpd is required for this test (Debian: apt-get install python3-aiosmtpd)");
        REQUIRE(probe.exit_code == 0);
    }

    // The hosts' media directories go back exactly as they were.
    const std::string saved = make_temp_dir("secrets-hosts");
    for (const auto& h : hosts)
        REQUIRE(run_command({"cp", "-a", h.cert_root + "/media", saved + "/" + h.name}).exit_code ==
                0);
    struct Restore {
        std::vector<LabHost> hosts;
        std::string saved;
        ~Restore() {
            for (const auto& h : hosts) {
                std::filesystem::remove_all(h.cert_root + "/media");
                run_command({"cp", "-a", saved + "/" + h.name, h.cert_root + "/media"});
                run_command({"sh", "-c", h.reload_command});
            }
            std::filesystem::remove_all(saved);
        }
    } restore{hosts, saved};

    const std::string tools = make_temp_dir("secrets-tools");
    const std::string rec = tools + "/records";
    std::filesystem::create_directories(rec);
    make_tls_material(tools);
    const std::string secrets = tools + "/secrets";
    std::filesystem::create_directories(secrets);
    ::chmod(secrets.c_str(), 0700);
    const std::string smtp_password = "Smtp-Secret-Passw0rd-4f9c1d7e",
                      wrong_password = "Wrong-Smtp-Passw0rd-8e2a7b3c";
    write_file(secrets + "/smtp.pass", smtp_password + "\n", 0600);
    write_file(secrets + "/smtp-wrong.pass", wrong_password + "\n", 0600);
    write_file(secrets + "/tsig.secret", read_file(lab.tsig_secret_file), 0600);
    const std::string wrong_tsig = core::base64_encode("0123456789abcdef0123456789abcdef");
    write_file(secrets + "/tsig-wrong.secret", wrong_tsig + "\n", 0600);
    write_file(secrets + "/eab.key", read_file(lab.eab_key_file), 0600);

    BackgroundTool webhook(tools, {kTools + "/webhook_receiver.py", "--out", rec + "/webhook.jsonl",
                                   "--lifetime", "300"});
    const std::string mail_dir = tools + "/mail";
    std::filesystem::create_directories(mail_dir);
    BackgroundTool smtp(mail_dir, {kTools + "/smtp_server.py", "--out", rec + "/mail.jsonl",
                                   "--cert", tools + "/server.pem", "--key", tools + "/server.key",
                                   "--user", "certfleet@example.test", "--password-file",
                                   secrets + "/smtp.pass", "--lifetime", "300"});
    write_file(tools + "/dns-hook", recorder(rec + "/dns-hook.log", false, lab.dir + "/dns-hook"),
               0755);
    write_file(tools + "/hook", recorder(rec + "/hooks.log", false), 0755);
    write_file(tools + "/notify", recorder(rec + "/notify.log", true), 0755);
    const std::string textfile = tools + "/metrics/certfleet.prom";
    std::filesystem::create_directories(tools + "/metrics");

    // (Two recipients: channels with the same name would share de-duplication.)
    auto email = [&](const std::string& password_file, const std::string& to) {
        return json{{"type", "email"},
                    {"smtp_url", "smtp://127.0.0.1:" + smtp.port()},
                    {"from", "certfleet@example.test"},
                    {"to", {to}},
                    {"username", "certfleet@example.test"},
                    {"password_file", password_file},
                    {"ca_bundle", tools + "/ca.pem"}};
    };
    auto t = write_fleet_inventory("secrets", [&](json& inv) {
        inv["acme"]["directory"] = lab.eab_directory;
        inv["acme"]["eab"] = {{"kid", lab.eab_kid}, {"hmac_key_file", secrets + "/eab.key"}};
        inv["acme"]["account_key"] = "rsa-2048";
        inv["dns"]["providers"]["lab-bind"]["tsig_secret_file"] = secrets + "/tsig.secret";
        inv["dns"]["providers"]["lab-hook"]["command"] = tools + "/dns-hook";
        inv["certificates"]["legacy"] = {
            {"domains", {"rsa.example.test"}}, {"dns", "lab-hook"}, {"key", "rsa-2048"}};
        inv["defaults"]["key_mode"] = "0640";
        inv["defaults"]["key_group"] = "nogroup";
        inv["hooks"] = {{"pre", tools + "/hook pre"},
                        {"post", tools + "/hook post"},
                        {"deploy", tools + "/hook deploy"},
                        {"failure", tools + "/hook failure"}};
        inv["notify"] = {
            // One secret from the environment: hooks print theirs (see recorder).
            email("env:CERTFLEET_TEST_SMTP_PASSWORD", "ops@example.test"),
            email(secrets + "/smtp-wrong.pass", "oncall@example.test"),
            {{"type", "webhook"}, {"url", "http://127.0.0.1:" + webhook.port() + "/T0/B0"}},
            {{"type", "exec"}, {"command", tools + "/notify"}},
            {{"type", "prometheus"}, {"textfile", textfile}}};
    });

    Evidence evidence;
    UmaskGuard umask_zero(0);
    auto cf = [&](std::vector<std::string> args, std::vector<int> allowed_exits) {
        args.insert(args.begin(), "-vv");
        auto r = run_certfleet(cf_args(t, args), {{"CERTFLEET_TEST_SMTP_PASSWORD", smtp_password}});
        std::string line;
        for (const auto& a : args)
            line += " " + a;
        evidence.add("certfleet" + line + " (stdout)", r.out);
        evidence.add("certfleet" + line + " (stderr)", r.err);
        INFO("certfleet" << line << " exited " << r.exit_code << "\n" << r.out << r.err);
        CHECK(std::find(allowed_exits.begin(), allowed_exits.end(), r.exit_code) !=
              allowed_exits.end());
        return r;
    };

    // Everything working: the EAB account is registered, both certificates
    // issued (TSIG update, exec hook), deployed with key_mode/key_group,
    // renewed, rolled back and forward, checked, audited, scheduled, run.
    cf({"validate"}, {0});
    cf({"--json", "validate"}, {0});
    cf({"issue", "--dry-run"}, {0});
    cf({"--json", "issue"}, {0});
    cf({"status"}, {0});
    cf({"--json", "status"}, {0});
    cf({"deploy", "--dry-run"}, {0});
    cf({"--json", "deploy"}, {0});
    cf({"renew", "--dry-run"}, {0});
    cf({"--json", "renew", "media", "--force"}, {0});
    cf({"rollback", "media", "--host", hosts[1].name}, {0});
    cf({"rollback", "media", "--host", hosts[1].name, "--list"}, {0});
    cf({"rollback", "media", "--host", hosts[1].name, "--unpin"}, {0});
    cf({"deploy", "media", "--host", hosts[1].name}, {0});
    cf({"check"}, {0, 1});
    cf({"--json", "check", "--probe"}, {0, 1});
    cf({"--json", "audit"}, {0, 1});  // the hand-managed "www" is a finding
    cf({"schedule", "--cron"}, {0});
    cf({"schedule", "--systemd"}, {0});
    {
        auto run = cf({"--json", "run", "--jitter", "0s"}, {0, 1});
        bool refused = false;  // the wrong password's error path ran too
        const json doc = json::parse(run.out);
        for (const auto& n : doc["notifications"])
            refused |= n["channel"].get<std::string>().find("oncall@") != std::string::npos &&
                       !n["error"].is_null();
        CHECK(refused);
    }

    // Failures: a wrong TSIG secret for a new certificate, and a host nothing
    // answers for, so error paths, the failure hook and notices are logged too.
    json inv = json::parse(read_file(t.path));
    inv["dns"]["providers"]["lab-bind"]["tsig_secret_file"] = secrets + "/tsig-wrong.secret";
    inv["certificates"]["fresh"] = {{"domains", {"fresh.example.test"}}, {"dns", "lab-bind"}};
    inv["hosts"]["cdn-gone"] = {{"address", lab.addr.substr(0, lab.addr.rfind('.')) + ".99"}};
    inv["certificates"]["media"]["deploy_to"] = {"cdn", "cdn-gone"};
    write_file(t.path, inv.dump(2), 0600);
    cf({"--json", "issue", "fresh"}, {2});
    cf({"--json", "run", "--jitter", "0s"}, {1, 2});
    cf({"deploy", "--host", "cdn-gone"}, {2});
    cf({"revoke", "legacy", "--reason", "keyCompromise", "--yes"}, {0});

    // What certfleet left behind, sent and deployed.
    auto is_key_file = [](const std::string& p) {
        return p.ends_with("/privkey.pem") || p.ends_with("/key.pem");
    };
    evidence.add_tree(t.state_dir, is_key_file);
    auto dump = run_command({"sqlite3", t.state_dir + "/ledger.sqlite", ".dump"});
    REQUIRE(dump.exit_code == 0);
    evidence.add("ledger dump", dump.out);
    evidence.add_tree(rec, [](const std::string&) { return false; });
    evidence.add_file(textfile);
    for (const auto& h : hosts)
        evidence.add_tree(h.cert_root + "/media", is_key_file);

    SecretMatcher secret;
    size_t keys = 0;
    auto add_keys_under = [&](const std::string& dir) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
            if (e.is_regular_file() && !e.is_symlink() && is_key_file(e.path().string())) {
                secret.add_private_key_pem(e.path().string(), read_file(e.path().string()));
                ++keys;
            }
    };
    add_keys_under(t.state_dir);  // every version's key and the account key
    for (const auto& h : hosts)
        add_keys_under(h.cert_root);  // and the hand-made keys certfleet adopted or audited
    CHECK(keys >= 2 * 3 + 1);
    secret.add_text("TSIG secret", read_file(lab.tsig_secret_file));
    secret.add_text("wrong TSIG secret", wrong_tsig);
    std::string eab = read_file(lab.eab_key_file);
    secret.add_text("EAB HMAC key", eab);
    secret.add_bytes("EAB HMAC key (decoded)", *core::base64url_decode(eab));
    secret.add_text("SMTP password", smtp_password);
    secret.add_text("wrong SMTP password", wrong_password);
    secret.add_openssh_ed25519_key("SSH identity", read_file(lab.ssh_identity));
    secret.add_text("a PEM private key", "PRIVATE KEY-----");

    {  // the matcher is not blind: a key as PEM, a password inside AUTH PLAIN
        std::string account_key;
        for (const auto& e : std::filesystem::recursive_directory_iterator(t.state_dir))
            if (e.path().filename() == "key.pem")
                account_key = read_file(e.path().string());
        CHECK_FALSE(secret.find("control", account_key).empty());
        std::string auth = std::string("\0certfleet@example.test\0", 24) + smtp_password;
        CHECK_FALSE(secret.find("control", "AUTH PLAIN " + core::base64_encode(auth)).empty());
        CHECK_FALSE(secret.find("control", "Ww" + core::base64url_encode(auth)).empty());
    }

    size_t bytes = 0;
    std::vector<std::string> leaks;
    for (const auto& [source, text] : evidence.items) {
        bytes += text.size();
        for (auto& hit : secret.find(source, text))
            leaks.push_back(std::move(hit));
    }
    INFO(evidence.items.size() << " sources, " << bytes << " bytes, " << secret.size()
                               << " secret windows");
    CHECK(evidence.items.size() > 50);
    for (const auto& leak : leaks)
        FAIL_CHECK(leak);

    // The receivers really got something (else the scan proved nothing).
    CHECK_FALSE(recorded(rec + "/webhook.jsonl", 1).empty());
    auto mails = recorded(rec + "/mail.jsonl", 1);
    CHECK_FALSE(mails.empty());
    for (const char* log : {"/dns-hook.log", "/hooks.log", "/notify.log"}) {
        std::string text = read_file(rec + log);
        INFO(log);
        CHECK(text.find("== argv:") != std::string::npos);
        for (const auto& fd : inherited_secret_fds(text))
            FAIL_CHECK("a child inherited a descriptor of a secret file: " << fd);
    }
    // The exec DNS hook's command line (visible in ps) is the lego contract
    // and nothing more: ACTION FQDN. VALUE.
    std::istringstream dns_calls(read_file(rec + "/dns-hook.log"));
    for (std::string line; std::getline(dns_calls, line);)
        if (line.starts_with("== argv:")) {
            std::istringstream words(line);
            std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
            INFO(line);
            CHECK(w.size() == 6);  // "==" "argv:" $0 present|cleanup fqdn. value
        }

    // Modes: the state under umask 0, and the keys on every host.
    for (const auto& problem : state_mode_problems(t.state_dir))
        FAIL_CHECK(problem);
    std::vector<std::string> ours;  // the versions this test deployed
    for (const auto& e :
         std::filesystem::directory_iterator(t.state_dir + "/certificates/media/versions"))
        ours.push_back(e.path().filename().string());
    for (const auto& h : hosts)
        for (const auto& problem :
             host_mode_problems(h.cert_root + "/media", ours, 0640, "nogroup"))
            FAIL_CHECK(problem);
    std::filesystem::remove_all(tools);
    std::filesystem::remove_all(t.dir);
}

// -q is what cron runs, and cron mails only what -q prints: a secret others
// can read is a problem today, so its warning survives -q (stderr; the exit
// code stays 0 because nothing failed). It names the file and the fix.
TEST_CASE("secrets: a secret others can read is named with its fix, even under -q", "[secrets]") {
    const Lab& lab = Lab::get();
    auto t = write_inventory(
        "secrets-warn", {{"warn", {{"domains", {"warn.example.test"}}, {"dns", "lab-bind"}}}},
        [&](json& inv) {
            inv["acme"]["directory"] = lab.eab_directory;
            inv["acme"]["eab"] = {{"kid", lab.eab_kid}, {"hmac_key_file", "eab.key"}};
            inv["dns"]["providers"]["lab-bind"]["tsig_secret_file"] = "tsig.secret";
            // Never contacted: nothing to notify. The password is read all the same.
            inv["notify"] = {{{"type", "email"},
                              {"smtp_url", "smtp://127.0.0.1:9"},
                              {"from", "certfleet@example.test"},
                              {"to", {"ops@example.test"}},
                              {"password_file", "smtp.pass"}}};
        });
    const std::vector<std::pair<std::string, mode_t>> files = {
        {t.dir + "/tsig.secret", 0644}, {t.dir + "/eab.key", 0640}, {t.dir + "/smtp.pass", 0604}};
    write_file(files[0].first, read_file(lab.tsig_secret_file), files[0].second);
    write_file(files[1].first, read_file(lab.eab_key_file), files[1].second);
    write_file(files[2].first, "Smtp-Secret-Passw0rd-4f9c1d7e\n", files[2].second);

    auto expect_warnings = [&](const std::vector<std::string>& args, const std::string& key) {
        auto r = run_certfleet(cf_args(t, args));
        INFO(args.back() << " exited " << r.exit_code << "\n" << r.out << r.err);
        CHECK(r.exit_code == 0);
        for (const auto& [path, mode] : files) {
            CHECK_THAT(r.err, Catch::Contains("'" + path + "' (mode 0" + std::to_string(mode >> 6) +
                                              std::to_string(mode >> 3 & 7) +
                                              std::to_string(mode & 7) + ")"));
            CHECK_THAT(r.err, Catch::Contains("chmod 600 '" + path + "'"));
        }
        if (!key.empty())
            CHECK_THAT(r.err, Catch::Contains("ACME account key '" + key +
                                              "' (mode 0644) is "
                                              "readable by every user; chmod 600 '" +
                                              key + "'"));
        if (args.front() == "-q")
            CHECK(r.out.empty());
        return r;
    };
    expect_warnings({"validate"}, "");
    expect_warnings({"-q", "issue"}, "");  // registers the account, issues "warn"
    std::string key;
    for (const auto& e : std::filesystem::recursive_directory_iterator(t.state_dir))
        if (e.path().filename() == "key.pem")
            key = e.path().string();
    REQUIRE_FALSE(key.empty());
    CHECK(mode_of(key) == 0600);
    ::chmod(key.c_str(), 0644);
    expect_warnings({"-q", "issue", "--force"}, key);
    expect_warnings({"-q", "renew"}, "");  // nothing due: the account key is not read
    expect_warnings({"-q", "run", "--jitter", "0s", "--no-audit"}, "");

    // Private again: -q is silent.
    for (const auto& [path, mode] : files)
        ::chmod(path.c_str(), 0600);
    ::chmod(key.c_str(), 0600);
    auto quiet = run_certfleet(cf_args(t, {"-q", "issue", "--force"}));
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.out.empty());
    CHECK(quiet.err.empty());
    std::filesystem::remove_all(t.dir);
}
