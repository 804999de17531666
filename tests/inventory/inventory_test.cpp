#include "support/inventory_test_support.hpp"

TEST_CASE("the full example inventory (every section) loads into the model", "[inventory]") {
    TempDir dir;
    dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    dir.write("tsig.secret", "c2VjcmV0LXRzaWc=\n");
    dir.write("eab.key", "ZWFiLWhtYWM\n");
    dir.write("smtp.pass", "hunter2\n");
    // Every file and program it names exists, so not even a warning is expected.
    dir.write("known_hosts", "[203.0.113.10]:22 ssh-ed25519 AAAA\n", 0644);
    dir.write("dns-hook", "#!/bin/sh\n", 0755);
    dir.write("notify-hook", "#!/bin/sh\n", 0755);
    dir.mkdir("textfile");
    dir.mkdir(".ssh");
    dir.write(".ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    HomeOverride home(dir.path());

    LoadResult result =
        parse_inventory(fixture_in("full.json", dir.path()), "full.json", dir.path());
    INFO(Catch::Detail::stringify(formatted(result)));
    REQUIRE(result.ok());
    CHECK(result.diagnostics.empty());
    REQUIRE(result.inventory);
    const Inventory& inv = *result.inventory;

    CHECK(inv.state_dir == dir.path() + "/state");
    CHECK(inv.acme.directory == "https://acme-v02.api.letsencrypt.org/directory");
    CHECK(inv.acme.contact == std::vector<std::string>{"mailto:ops@example.org"});
    CHECK(inv.acme.accept_terms);
    CHECK(inv.acme.ca_bundle == dir.path() + "/ca.pem");
    REQUIRE(inv.acme.eab);
    CHECK(inv.acme.eab->kid == "kid-1");
    CHECK(inv.acme.eab->hmac_key_file == dir.path() + "/eab.key");
    CHECK(inv.acme.profile == "tlsserver");

    const auto& primary = inv.dns.providers.at("primary");
    CHECK(primary.type == DnsProviderType::Rfc2136);
    CHECK(primary.server == "ns1.example.org:53");
    CHECK(primary.tsig_name == "certfleet");
    CHECK(primary.ttl == 60);
    CHECK(read_secret(primary.tsig_secret_file, "/elsewhere").value() == "c2VjcmV0LXRzaWc=");
    CHECK(inv.dns.providers.at("script").command == dir.path() + "/dns-hook");
    CHECK(inv.dns.nameservers == std::vector<std::string>{"10.0.0.53:53", "10.0.0.54:53"});
    CHECK(inv.dns.propagation_timeout == Seconds(600));

    const Host& cdn = inv.hosts.at("cdn-frankfurt-1");
    CHECK(cdn.settings.ssh.user == "certfleet");
    CHECK(cdn.settings.ssh.known_hosts == dir.path() + "/known_hosts");
    CHECK(cdn.settings.ssh.identity_file == dir.path() + "/.ssh/id_ed25519");
    CHECK(cdn.settings.verify.address == "203.0.113.10");
    CHECK(cdn.settings.audit.scan_dirs == std::vector<std::string>{"/etc/ssl/private"});
    CHECK_FALSE(cdn.settings.key_group);
    const Host& local = inv.hosts.at("web-local");
    CHECK(local.transport == HostTransport::Local);
    CHECK(local.settings.verify.address == "127.0.0.1");
    CHECK(local.settings.cert_root == dir.path() + "/live");
    CHECK(cdn.settings.cert_root == "/etc/certfleet/live");

    CHECK(inv.groups.at("cdn").rollout.batch ==
          RolloutBatch{.unit = RolloutBatch::Unit::Percent, .value = 25});
    CHECK(inv.groups.at("cdn").rollout.canary == 1);
    CHECK_FALSE(inv.groups.at("web").declared);  // a label, used by web-local only
    CHECK(inv.groups.at("web").hosts == std::vector<std::string>{"web-local"});

    const CertificateSpec& site = inv.certificates.at("site");
    CHECK(site.domains == std::vector<std::string>{"example.org", "*.example.org"});
    CHECK(site.key == KeyType::EcdsaP384);
    CHECK(site.challenge_alias == "acme-delegate.example.net");
    CHECK(deploy_hosts(inv, site) == std::vector<std::string>{"cdn-frankfurt-1", "web-local"});
    CHECK(certificates_for_host(inv, "cdn-frankfurt-1") ==
          std::vector<std::string>{"media", "site"});
    CHECK(inv.certificates.at("media").key == KeyType::EcdsaP256);

    CHECK_FALSE(inv.policy.renew_before);
    CHECK(inv.policy.warn_before.duration == Seconds(21 * 86400));
    CHECK(inv.policy.keep_versions == 3);
    REQUIRE(inv.notify.size() == 4);
    const auto& webhook = std::get<WebhookNotifierSettings>(inv.notify[0]);
    CHECK(webhook.url == "https://hooks.example.org/T0/B0");
    CHECK(webhook.format == WebhookFormat::Slack);
    CHECK(webhook.ca_bundle.empty());
    const auto& email = std::get<EmailNotifierSettings>(inv.notify[1]);
    CHECK(email.smtp_url == "smtp://mail.example.org:587");
    CHECK(email.from == "certfleet@example.org");
    CHECK(email.to == std::vector<std::string>{"ops@example.org"});
    CHECK(email.password_file == dir.path() + "/smtp.pass");
    CHECK(email.username.empty());
    CHECK(std::get<PrometheusNotifierSettings>(inv.notify[2]).textfile ==
          dir.path() + "/textfile/certfleet.prom");
    const auto& exec = std::get<ExecNotifierSettings>(inv.notify[3]);
    CHECK(exec.command == dir.path() + "/notify-hook");
    CHECK(exec.timeout == Seconds(120));
    CHECK(inv.hooks.commands ==
          std::map<HookEvent, std::string>{{HookEvent::Pre, "/bin/true"},
                                           {HookEvent::Post, "/bin/true"},
                                           {HookEvent::Deploy, "/bin/true"},
                                           {HookEvent::Failure, "/bin/true"}});
    CHECK(inv.hooks.timeout == Seconds(120));
}

TEST_CASE("comments are allowed wherever whitespace is", "[inventory]") {
    std::string text = R"json(// leading
{ /* before a key */ "acme": { "directory": /* a
multi-line comment */ "https://acme.example.org/dir" // "url": 1
  },
  "dns": { "nameservers": [ "10.0.0.1", // first
                            /* second */ 5 ] }
})json";
    LoadResult result = parse(text);
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "inv.json:6:42: dns.nameservers[1]: expected a string, not a number"});
}

TEST_CASE("every mistake is reported at once, with its position", "[inventory]") {
    LoadResult result =
        parse_inventory(fixture("several-mistakes.json"), "several-mistakes.json", "/nonexistent");
    CHECK_FALSE(result.ok());
    CHECK_FALSE(result.inventory);
    std::vector<std::string> expected = {
        "several-mistakes.json:1:1: warning: defaults.ssh.known_hosts: not set for 'web1', "
        "'web2'" +
            std::string(kNoKnownHosts),
        "several-mistakes.json:3:18: acme.directory: must be an https:// URL (http:// is allowed "
        "only for localhost and 127.0.0.0/8)",
        "several-mistakes.json:4:17: acme.contact[0]: expected a mailto: URI like "
        "\"mailto:ops@example.org\"",
        "several-mistakes.json:8:68: dns.providers.primary.tsig_secret: unknown key 'tsig_secret': "
        "secrets are never written in the inventory; use 'tsig_secret_file' with a file path or "
        "\"env:NAME\"",
        "several-mistakes.json:10:28: dns.propagation_timeout: invalid duration '10 minutes': use "
        "a "
        "number and a unit, like \"90s\", \"15m\", \"12h\" or \"21d\"",
        "several-mistakes.json:13:56: hosts.web1.ssh.port: must be between 1 and 65535",
        "several-mistakes.json:14:13: hosts.web2.address: required key is missing (unless "
        "\"transport\" is \"local\")",
        "several-mistakes.json:17:15: certificates.site.domian: unknown key 'domian' (did you mean "
        "'domains'?)",
        "several-mistakes.json:18:47: certificates.shop.domains[1]: 'bad..example.org' is not a "
        "valid domain name: empty label (a leading dot or two dots in a row)",
        "several-mistakes.json:18:75: certificates.shop.dns: unknown DNS provider 'secondary'",
        "several-mistakes.json:19:36: certificates.shop.deploy_to[1]: unknown host or group 'web3' "
        "(did you mean 'web1'?)",
        "several-mistakes.json:21:32: policy.keep_versions: must be between 1 and 1000",
    };
    CHECK(formatted(result) == expected);
    for (const auto& line : formatted(result))
        CHECK(line.find("c2VjcmV0") == std::string::npos);
}

TEST_CASE("unknown keys name the closest known key", "[inventory]") {
    LoadResult result = parse(R"({ "acme": { "directroy": "https://a.example/dir" },
  "certificates": { "x": { "domains": ["x.example.org"], "deploy": [] } },
  "zzz": 1 })");
    auto lines = formatted(result);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] ==
          "inv.json:1:13: acme.directroy: unknown key 'directroy' (did you mean "
          "'directory'?)");
    // The missing "dns" is a real error; the misspelt "directory" is not reported twice.
    CHECK(lines[1] ==
          "inv.json:2:26: certificates.x.dns: required key is missing (and "
          "dns.providers defines none)");
    CHECK(
        lines[2].starts_with("inv.json:2:58: certificates.x.deploy: unknown key 'deploy' (did you "
                             "mean 'deploy_to'?)"));
    CHECK(lines[3].starts_with("inv.json:3:3: zzz: unknown key 'zzz' (expected state_dir, acme,"));

    auto email = parse(with_acme(R"("notify": [{ "type": "email", "smtp_url": "smtp://m",
        "from": "a@b", "to": ["c@d"], "password": "hunter2" }])"));
    REQUIRE(email.diagnostics.size() == 1);
    CHECK(email.diagnostics[0].format() ==
          "inv.json:2:39: notify[0].password: unknown key 'password': secrets are never written in "
          "the inventory; use 'password_file' with a file path or \"env:NAME\"");
}

TEST_CASE("durations and thresholds show the accepted forms", "[inventory]") {
    auto result =
        parse(with_acme(R"("dns": { "poll_interval": "5 minutes", "propagation_timeout": 60 },
  "policy": { "renew_before": "soon", "warn_before": "0.2", "critical_before": "1.5",
              "notify_interval": "0s" })"));
    CHECK(
        formatted(result) ==
        std::vector<std::string>{
            "inv.json:1:86: dns.poll_interval: invalid duration '5 minutes': use a number and a "
            "unit, like \"90s\", \"15m\", \"12h\" or \"21d\"",
            "inv.json:1:122: dns.propagation_timeout: expected a duration string like \"90s\", "
            "\"15m\", \"12h\" or \"21d\", not a number",
            "inv.json:2:31: policy.renew_before: expected \"auto\" or a duration like \"30d\"",
            "inv.json:2:80: policy.critical_before: a fraction of the lifetime must lie between 0 "
            "and 1",
            "inv.json:3:34: policy.notify_interval: must be longer than 0s",
        });
    auto ok = parse(with_acme(R"("policy": { "renew_before": "30d", "warn_before": "0.2",
        "critical_before": 0.1 })"));
    REQUIRE(ok.ok());
    CHECK(ok.inventory->policy.renew_before == Seconds(30 * 86400));
    CHECK(ok.inventory->policy.warn_before.fraction == 0.2);
    CHECK_FALSE(ok.inventory->policy.warn_before.duration);
    CHECK(ok.inventory->policy.critical_before.fraction == 0.1);
}

TEST_CASE("undefined providers and deploy_to names are errors", "[inventory]") {
    auto result = parse(with_acme(R"("dns": { "providers": {
    "primary": { "type": "exec", "command": "/bin/true" },
    "backup": { "type": "exec", "command": "/bin/true" } } },
  "groups": { "cdn": {} },
  "hosts": { "edge-1": { "address": "192.0.2.1", "groups": ["edge"] } },
  "certificates": { "site": { "domains": ["example.org"], "dns": "primray",
                              "deploy_to": ["edge", "cdn", "cnd", "edge-1"] } })"));
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "inv.json:1:1: warning: defaults.ssh.known_hosts: not set for 'edge-1'" +
                  std::string(kNoKnownHosts),
              "inv.json:6:66: certificates.site.dns: unknown DNS provider 'primray' (did you mean "
              "'primary'?)",
              "inv.json:7:53: warning: certificates.site.deploy_to[1]: group 'cdn' has no hosts",
              "inv.json:7:60: certificates.site.deploy_to[2]: unknown host or group 'cnd' (did you "
              "mean 'cdn'?)",
          });
    // "edge" is only a label some host carries: deploying to it is fine.
}

TEST_CASE("missing required keys point at the enclosing object", "[inventory]") {
    CHECK(formatted(parse("{}")) ==
          std::vector<std::string>{"inv.json:1:1: acme: required key is missing"});
    auto result = parse(R"({
  "acme": { "contact": [] },
  "dns": { "providers": { "hook": { "type": "exec" },
                          "ns": { "type": "rfc2136", "server": "ns1", "tsig_name": "k" } } } })");
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "inv.json:2:11: acme.directory: required key is missing",
              "inv.json:3:35: dns.providers.hook.command: required key is missing",
              "inv.json:4:33: dns.providers.ns.tsig_secret_file: required key is missing "
              "(tsig_name is set)",
          });
    CHECK(formatted(parse("[]")) ==
          std::vector<std::string>{"inv.json:1:1: the inventory must be a JSON object"});
}

TEST_CASE("syntax errors carry the position of the offending token", "[inventory]") {
    auto result = parse_inventory(fixture("syntax-error.json"), "syntax-error.json", "/");
    CHECK(formatted(result) ==
          std::vector<std::string>{"syntax-error.json:4:5: syntax error while parsing object - "
                                   "unexpected string literal; expected '}' (is a ',' missing "
                                   "before it?)"});
    auto empty = parse("");
    REQUIRE(empty.diagnostics.size() == 1);
    CHECK(empty.diagnostics[0].line == 1);
    CHECK(empty.diagnostics[0].column == 1);
    // The text that failed is not quoted back: it might be a pasted secret.
    auto literal = parse("{ \"a\": s3cr3t }");
    REQUIRE(literal.diagnostics.size() == 1);
    CHECK(literal.diagnostics[0].format().find("s3cr3t") == std::string::npos);
    CHECK(literal.diagnostics[0].column == 8);
}

TEST_CASE("host settings resolve host > groups in order > defaults", "[inventory]") {
    auto result = parse_inventory(fixture("inheritance.json"), "inheritance.json", "/");
    INFO(Catch::Detail::stringify(formatted(result)));
    REQUIRE(result.ok());
    const auto& hosts = result.inventory->hosts;
    const HostSettings& a = hosts.at("a").settings;  // groups: edge, eu
    CHECK(a.ssh.user == "root");                     // host
    CHECK(a.ssh.port == 22);                         // edge beats eu
    CHECK(a.ssh.connect_timeout == Seconds(5));      // defaults, merged per member
    CHECK(a.reload_command == "edge-reload");
    CHECK(a.test_command == "eu-test");
    CHECK(a.key_mode == 0640);
    CHECK(a.key_group == "ssl-cert");
    CHECK(a.verify.port == 8443);
    CHECK(a.verify.address == "192.0.2.1");
    const HostSettings& b = hosts.at("b").settings;  // groups: eu, edge
    CHECK(b.ssh.user == "eu-deploy");
    CHECK(b.ssh.port == 2200);
    CHECK(b.reload_command == "eu-reload");
    CHECK_FALSE(b.key_group);  // null overrides the default group
    CHECK_FALSE(b.verify.enabled);
    const HostSettings& c = hosts.at("c").settings;  // defaults and built-ins only
    CHECK(c.ssh.user == "deploy");
    CHECK(c.ssh.port == 2222);
    CHECK(c.key_mode == 0600);
    CHECK(c.cert_root == "/etc/certfleet/live");
    CHECK(c.audit.config_dump_command == "nginx -T");
    CHECK(c.host_timeout == Seconds(300));
    CHECK(hosts.at("l").settings.verify.address == "127.0.0.1");
    CHECK_FALSE(result.inventory->groups.at("solo").declared);
}

TEST_CASE("a domain in several certificates is a warning only", "[inventory]") {
    auto result = parse_inventory(fixture("overlap.json"), "overlap.json", "/");
    CHECK(result.ok());
    REQUIRE(result.inventory);
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "overlap.json:6:33: warning: certificates.site-rsa.domains[0]: 'example.org' is also "
              "in certificate 'site-ecdsa'",
              "overlap.json:6:48: warning: certificates.site-rsa.domains[1]: 'www.example.org' is "
              "also in certificate 'site-ecdsa'",
          });
    // The single provider is the default; names are lowercased and lose a trailing dot.
    const auto& rsa = result.inventory->certificates.at("site-rsa");
    CHECK(rsa.dns_provider == "script");
    CHECK(rsa.domains == std::vector<std::string>{"example.org", "www.example.org"});
    auto twice =
        parse(with_acme(R"("dns": { "providers": { "p": { "type": "exec", "command": "x" } } },
  "certificates": { "a": { "domains": ["a.example.org", "A.example.org"] } })"));
    CHECK(formatted(twice) ==
          std::vector<std::string>{"inv.json:2:57: certificates.a.domains[1]: 'a.example.org' is "
                                   "listed twice"});
}

TEST_CASE("env: secret references", "[inventory]") {
    ::setenv("CERTFLEET_TEST_TSIG", "c2VjcmV0\n", 1);
    ::unsetenv("CERTFLEET_TEST_UNSET");
    CHECK(read_secret("env:CERTFLEET_TEST_TSIG", "/").value() == "c2VjcmV0");
    auto unset = read_secret("env:CERTFLEET_TEST_UNSET", "/");
    REQUIRE_FALSE(unset.ok());
    CHECK(unset.error().message == "environment variable CERTFLEET_TEST_UNSET is not set");

    auto result = parse(with_acme(R"("dns": { "providers": {
    "a": { "type": "rfc2136", "server": "ns1", "tsig_name": "k", "tsig_secret_file": "env:CERTFLEET_TEST_TSIG" },
    "b": { "type": "rfc2136", "server": "ns1", "tsig_name": "k", "tsig_secret_file": "env:CERTFLEET_TEST_UNSET" } } })"));
    CHECK(formatted(result) ==
          std::vector<std::string>{"inv.json:3:86: dns.providers.b.tsig_secret_file: environment "
                                   "variable CERTFLEET_TEST_UNSET is not set"});
    ::unsetenv("CERTFLEET_TEST_TSIG");
}

TEST_CASE("secret files must exist and should be private", "[inventory]") {
    TempDir dir;
    dir.write("open.secret", "hunter2\n\n", 0644);
    std::string text = with_acme(R"("notify": [
    { "type": "email", "smtp_url": "smtp://m", "from": "a@b", "to": ["c@d"], "password_file": "open.secret" },
    { "type": "email", "smtp_url": "smtp://m", "from": "a@b", "to": ["e@f"], "password_file": "./gone" } ])");
    auto result = parse(text, dir.path());
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "inv.json:2:95: warning: notify[0].password_file: '" + dir.path() +
                  "/open.secret' (mode 0644) is readable by every user; chmod 600 '" + dir.path() +
                  "/open.secret'",
              "inv.json:3:95: notify[1].password_file: '" + dir.path() + "/gone' does not exist",
          });
    for (const auto& line : formatted(result))
        CHECK(line.find("hunter2") == std::string::npos);
    // The exposed secret is a security warning (kept under -q); the error is not.
    REQUIRE(result.diagnostics.size() == 2);
    CHECK(result.diagnostics[0].security);
    CHECK_FALSE(result.diagnostics[1].security);
    // Only one trailing newline belongs to the file format.
    CHECK(read_secret("open.secret", dir.path()).value() == "hunter2\n");
    CHECK_FALSE(read_secret("missing", dir.path()).ok());

    ::chmod((dir.path() + "/open.secret").c_str(), 0600);
    CHECK(parse(with_acme(R"("notify": [{ "type": "email", "smtp_url": "smtp://m", "from": "a@b",
        "to": ["c@d"], "password_file": "open.secret" }])"),
                dir.path())
              .diagnostics.empty());
}

TEST_CASE("paths resolve against the inventory's directory", "[inventory]") {
    std::string home = ::getenv("HOME") ? ::getenv("HOME") : "";
    if (!home.empty())
        CHECK(resolve_path("~/.ssh/id", "/etc/certfleet") == home + "/.ssh/id");
    CHECK(resolve_path("tsig.secret", "/etc/certfleet") == "/etc/certfleet/tsig.secret");
    CHECK(resolve_path("../x", "/etc/certfleet") == "/etc/x");
    CHECK(resolve_path("/abs/file", "/etc/certfleet") == "/abs/file");
}

TEST_CASE("hosts: key modes, names and transports", "[inventory]") {
    auto result = parse(with_acme(R"("defaults": { "key_mode": "0644", "rollout": {} },
  "groups": { "g": { "key_mode": 640, "rollout": { "batch": "150%" } } },
  "hosts": { "bad name": { "address": "192.0.2.1" }, "g": { "address": "192.0.2.2" },
             "x": { "transport": "scp", "address": "192.0.2.3" } })"));
    CHECK(
        formatted(result) ==
        std::vector<std::string>{
            "inv.json:1:72: warning: defaults.ssh.known_hosts: not set for 'bad name', 'g', 'x'" +
                std::string(kNoKnownHosts),
            "inv.json:1:86: defaults.key_mode: '0644' lets every user read or change the private "
            "key; use \"0600\" or \"0640\" with key_group",
            "inv.json:1:94: defaults.rollout: unknown key 'rollout': only allowed in a group",
            "inv.json:2:34: groups.g.key_mode: expected an octal mode as a string, like \"0640\"",
            "inv.json:2:61: groups.g.rollout.batch: expected a host count (at least 1) or a "
            "percentage like \"25%\"",
            "inv.json:3:14: hosts[\"bad name\"]: host names may contain letters, digits, '.', '_' "
            "and '-' and must start with a letter or digit",
            "inv.json:3:54: hosts.g: 'g' is both a host and a group; deploy_to could not tell "
            "them apart",
            "inv.json:4:34: hosts.x.transport: 'scp' is not one of ssh or local",
        });
}

TEST_CASE("duplicate keys and unreadable files", "[inventory]") {
    auto dup = parse(R"({ "acme": { "directory": "https://a.example/d" },
  "acme": { "directory": "https://b.example/d" } })");
    CHECK(formatted(dup) == std::vector<std::string>{
                                "inv.json:2:3: acme: duplicate key (first at line 1, column 3)"});
    auto missing = load_inventory("/nonexistent/certfleet.json");
    CHECK(formatted(missing) ==
          std::vector<std::string>{"/nonexistent/certfleet.json: cannot read: No such file or "
                                   "directory"});
    CHECK(parse(R"({ "acme": { "directory": "http://127.0.0.1:14000/dir" } })").ok());
    CHECK(parse(R"({ "acme": { "directory": "http://localhost/dir" } })").ok());
}

TEST_CASE("two notifiers to the same place are warned about", "[inventory]") {
    TempDir dir;
    std::string text = with_acme(R"("notify": [
    { "type": "webhook", "url": "https://hooks.example/T0", "format": "slack" },
    { "type": "webhook", "url": "https://hooks.example/T1" },
    { "type": "webhook", "url": "https://hooks.example/T0", "format": "json" },
    { "type": "email", "smtp_url": "smtp://m", "from": "a@b", "to": ["c@d"] },
    { "type": "email", "smtp_url": "smtp://m", "from": "x@y", "to": ["c@d"] } ])");
    auto result = parse(text, dir.path());
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "inv.json:4:5: warning: notify[2]: sends to the same place as notify[0]: it would "
              "repeat nothing (notices are de-duplicated per destination); remove one of them",
              "inv.json:6:5: warning: notify[4]: sends to the same place as notify[3]: it would "
              "repeat nothing (notices are de-duplicated per destination); remove one of them",
          });
    CHECK(result.ok());
}

TEST_CASE("powerdns providers: settings, defaults and their errors", "[inventory]") {
    ::setenv("CERTFLEET_TEST_PDNS_KEY", "k", 1);
    auto good = parse(with_acme(R"("dns": { "providers": {
  "pdns": { "type": "powerdns", "api_url": "http://127.0.0.1:8081",
            "api_key_file": "env:CERTFLEET_TEST_PDNS_KEY", "ttl": 120 } } })"));
    for (const auto& line : formatted(good))
        UNSCOPED_INFO(line);
    REQUIRE(good.inventory);
    const auto& p = good.inventory->dns.providers.at("pdns");
    CHECK(p.type == DnsProviderType::PowerDns);
    CHECK(p.api_url == "http://127.0.0.1:8081");
    CHECK(p.server_id == "localhost");
    CHECK(p.api_key_file == "env:CERTFLEET_TEST_PDNS_KEY");
    CHECK(p.ttl == 120);
    CHECK(p.timeout == Seconds{30});

    auto bad = parse(with_acme(R"("dns": { "providers": {
  "p": { "type": "powerdns", "api_url": "127.0.0.1:8081", "server_id": "a/b", "server": "x" } } })"));
    CHECK(formatted(bad) ==
          std::vector<std::string>{
              "inv.json:2:8: dns.providers.p.api_key_file: required key is missing",
              "inv.json:2:41: dns.providers.p.api_url: expected an http:// or https:// URL like "
              "\"http://127.0.0.1:8081\"",
              "inv.json:2:72: dns.providers.p.server_id: expected a server name like "
              "\"localhost\"",
              "inv.json:2:79: dns.providers.p.server: unknown key 'server': only for \"rfc2136\" "
              "providers",
          });
    // A key other types take names all of them.
    auto shared = parse(with_acme(R"("dns": { "providers": {
  "h": { "type": "exec", "command": "/bin/true", "ttl": 60 } } })"));
    CHECK(formatted(shared) ==
          std::vector<std::string>{
              "inv.json:2:50: dns.providers.h.ttl: unknown key 'ttl': only for \"rfc2136\", "
              "\"powerdns\", \"lexicon\", \"cloudflare\" or \"route53\" providers"});
    ::unsetenv("CERTFLEET_TEST_PDNS_KEY");
}

TEST_CASE("cloudflare, route53 and acme-dns providers: settings, defaults and their errors",
          "[inventory]") {
    ::setenv("CERTFLEET_TEST_CF_TOKEN", "t", 1);
    auto good = parse(with_acme(R"("dns": { "providers": {
  "cf": { "type": "cloudflare", "api_token_file": "env:CERTFLEET_TEST_CF_TOKEN" },
  "aws": { "type": "route53", "hosted_zone_id": "Z123", "profile": "dns" },
  "keys": { "type": "route53", "access_key_id_file": "env:CERTFLEET_TEST_CF_TOKEN",
            "secret_access_key_file": "env:CERTFLEET_TEST_CF_TOKEN", "endpoint": "http://127.0.0.1:1" },
  "adns": { "type": "acme-dns", "api_url": "https://auth.example.net",
            "allow_from": ["192.0.2.0/24"] } } })"));
    for (const auto& line : formatted(good))
        UNSCOPED_INFO(line);
    REQUIRE(good.inventory);
    const auto& providers = good.inventory->dns.providers;
    const auto& cf = providers.at("cf");
    CHECK(cf.type == DnsProviderType::Cloudflare);
    CHECK(cf.api_url == "https://api.cloudflare.com/client/v4");
    CHECK(cf.api_token_file == "env:CERTFLEET_TEST_CF_TOKEN");
    CHECK(cf.ttl == 120);
    CHECK(cf.timeout == Seconds{30});
    const auto& aws = providers.at("aws");
    CHECK(aws.type == DnsProviderType::Route53);
    CHECK(aws.api_url == "https://route53.amazonaws.com");
    CHECK(aws.hosted_zone_id == "Z123");
    CHECK(aws.aws_profile == "dns");
    CHECK(aws.access_key_id_file.empty());
    CHECK(aws.region == "us-east-1");
    CHECK(aws.timeout == Seconds{180});
    CHECK(providers.at("keys").api_url == "http://127.0.0.1:1");
    const auto& adns = providers.at("adns");
    CHECK(adns.type == DnsProviderType::AcmeDns);
    CHECK(adns.allow_from == std::vector<std::string>{"192.0.2.0/24"});

    auto bad = parse(with_acme(R"("dns": { "providers": {
  "c": { "type": "cloudflare", "ttl": 30, "tsig_name": "x" },
  "r": { "type": "route53", "access_key_id_file": "env:CERTFLEET_TEST_CF_TOKEN" },
  "a": { "type": "acme-dns" },
  "t": { "type": "cloudfare" } } })"));
    CHECK(formatted(bad) ==
          std::vector<std::string>{
              "inv.json:2:8: dns.providers.c.api_token_file: required key is missing",
              "inv.json:2:39: dns.providers.c.ttl: Cloudflare takes 1 (automatic) or 60 and more",
              "inv.json:2:43: dns.providers.c.tsig_name: unknown key 'tsig_name': only for "
              "\"rfc2136\" providers",
              "inv.json:3:8: dns.providers.r.secret_access_key_file: required key is missing "
              "(access_key_id_file is set)",
              "inv.json:4:8: dns.providers.a.api_url: required key is missing",
              "inv.json:5:18: dns.providers.t.type: 'cloudfare' is not one of rfc2136, exec, "
              "powerdns, lexicon, cloudflare, route53 or acme-dns (did you mean 'cloudflare'?)",
          });
    ::unsetenv("CERTFLEET_TEST_CF_TOKEN");
}

TEST_CASE("the alarm sections load when only other sections are broken",
          "[inventory][quarantine]") {
    TempDir dir;
    dir.write("notify-hook", "#!/bin/sh\n", 0755);
    const std::string notify =
        R"("notify": [{ "type": "exec", "command": ")" + dir.path() + R"(/notify-hook" }])";
    // acme is not a URL, policy is nonsense and a top-level key is mistyped:
    // none of those is needed to tell someone.
    const std::string broken = R"({ "acme": { "directory": "not a url" }, "polcy": {},
        "policy": { "renew_before": "soon" }, "state_dir": ")" +
                               dir.path() + R"(/state", )" + notify + "}";
    REQUIRE_FALSE(parse(broken, dir.path()).ok());
    auto alarm = parse_alarm_sections(broken, "inv.json", dir.path());
    INFO(Catch::Detail::stringify(formatted(alarm)));
    REQUIRE(alarm.inventory);
    CHECK(alarm.inventory->state_dir == dir.path() + "/state");
    REQUIRE(alarm.inventory->notify.size() == 1);
    CHECK(alarm.inventory->policy.notify_interval == Policy{}.notify_interval);
    CHECK(alarm.inventory->certificates.empty());

    SECTION("a broken notify section cannot raise it") {
        auto none =
            parse_alarm_sections(R"({ "acme": {}, "notify": [{ "type": "exec", "command": 42 }] })",
                                 "inv.json", dir.path());
        CHECK_FALSE(none.inventory);
        CHECK_FALSE(none.ok());
    }
    SECTION("nor does text that is not JSON") {
        CHECK_FALSE(parse_alarm_sections("{ \"notify\": [", "inv.json", dir.path()).inventory);
    }
}

TEST_CASE("key_mode may let key_group read the key, never write it", "[inventory]") {
    auto group_writable = parse(with_acme(R"("defaults": { "key_mode": "0660" })"));
    CHECK_THAT(formatted(group_writable),
               Catch::VectorContains(std::string(
                   "inv.json:1:86: defaults.key_mode: '0660' lets the key_group change the "
                   "private key; use \"0640\" (read only)")));
    CHECK(parse(with_acme(R"("defaults": { "key_mode": "0640" })")).ok());
}

TEST_CASE("a secret file that is a FIFO is refused, not waited on", "[inventory]") {
    TempDir dir;
    REQUIRE(::mkfifo((dir.path() + "/token").c_str(), 0600) == 0);
    auto secret = read_secret("token", dir.path());
    REQUIRE_FALSE(secret.ok());
    CHECK(secret.error().message ==
          "cannot read secret file " + dir.path() + "/token: not a regular file");
}
