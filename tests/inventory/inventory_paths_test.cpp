// Inventory validation of everything a setting names (programs, files,
// directories), inheritance of every setting kind, and the many-problems file.
#include "support/inventory_test_support.hpp"

namespace {

struct Layer {
    std::string tag;  // "d" (defaults), "g1", "g2", "h" (host)
    int n;            // 1..4, the number in that layer's ports, timeouts and addresses
    mode_t key_mode;
    bool verify_enabled;
};

// Every member of `s` must come from `layer` of inheritance-all.json.
void check_from_layer(const HostSettings& s, const Layer& layer, const std::string& dir) {
    INFO("expected every setting from layer " << layer.tag);
    const std::string& t = layer.tag;
    CHECK(s.ssh.user == t + "-user");
    CHECK(s.ssh.port == 2200 + layer.n);
    CHECK(s.ssh.identity_file == dir + "/" + t + ".key");
    CHECK(s.ssh.known_hosts == dir + "/" + t + ".kh");
    CHECK(s.ssh.connect_timeout == Seconds(10 + layer.n));
    CHECK(s.cert_root == "/srv/" + t);
    CHECK(s.test_command == t + "-test");
    CHECK(s.reload_command == t + "-reload");
    CHECK(s.verify.address == "192.0.2.10" + std::to_string(layer.n));
    CHECK(s.verify.port == 8400 + layer.n);
    CHECK(s.verify.server_name == t + ".example.org");
    CHECK(s.verify.enabled == layer.verify_enabled);
    CHECK(s.key_mode == layer.key_mode);
    if (t == "h")
        CHECK_FALSE(s.key_group);  // null in the host beats every group
    else
        CHECK(s.key_group == t + "-group");
    CHECK(s.audit.config_dump_command == t + "-dump");
    CHECK(s.audit.scan_dirs == std::vector<std::string>{"/" + t});
    CHECK(s.host_timeout == Seconds(60 * layer.n));
}

}  // namespace

TEST_CASE("every setting kind resolves host > groups in order > defaults", "[inventory]") {
    TempDir dir;
    for (std::string tag : {"d", "g1", "g2", "h"}) {
        dir.write(tag + ".key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0600);
        dir.write(tag + ".kh", "", 0644);
    }
    auto result =
        parse_inventory(fixture("inheritance-all.json"), "inheritance-all.json", dir.path());
    INFO(Catch::Detail::stringify(formatted(result)));
    REQUIRE(result.ok());
    CHECK(result.diagnostics.empty());
    const auto& hosts = result.inventory->hosts;
    check_from_layer(hosts.at("host-wins").settings, {"h", 4, 0400, true}, dir.path());
    check_from_layer(hosts.at("g1-first").settings, {"g1", 2, 0640, true}, dir.path());
    // "empty" is listed first but sets nothing: g2 is the first group that does.
    check_from_layer(hosts.at("g2-first").settings, {"g2", 3, 0440, false}, dir.path());
    check_from_layer(hosts.at("defaults-only").settings, {"d", 1, 0600, false}, dir.path());
}

TEST_CASE("an inventory with many problems reports every one with its position", "[inventory]") {
    TempDir dir;
    dir.write("open.secret", "ZWFi\n", 0644);
    dir.write("id-open", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0640);
    dir.write("kh-open", "", 0666);
    dir.write("plain-file", "not a directory\n", 0644);
    const std::string d = dir.path();
    const std::string f = "many-problems.json:";
    LoadResult result = parse_inventory(fixture("many-problems.json"), "many-problems.json", d);
    CHECK_FALSE(result.ok());
    CHECK_FALSE(result.inventory);
    std::vector<std::string> expected = {
        f + "5:16: state_dir: '" + d + "/plain-file/state' cannot be created: '" + d +
            "/plain-file' is not a directory",
        f + "8:43: acme.contact[1]: expected a mailto: URI like \"mailto:ops@example.org\"",
        f + "9:21: acme.accept_terms: expected true or false, not a string",
        f + "10:18: acme.ca_bundle: '" + d + "/missing-ca.pem' does not exist",
        f + "11:31: warning: acme.eab.hmac_key_file: '" + d +
            "/open.secret' (mode 0644) is readable by every user; chmod 600 '" + d +
            "/open.secret'",
        f + "11:46: acme.eab.kid_: unknown key 'kid_' (did you mean 'kid'?)",
        f + "12:20: acme.account_key: unknown key type 'ed25519': use ecdsa-p256, ecdsa-p384, "
            "rsa-2048, rsa-3072 or rsa-4096",
        f + "13:5: acme.profle: unknown key 'profle' (did you mean 'profile'?)",
        f + "17:44: dns.providers.ns.server: expected \"host\" or \"host:port\"",
        f + "18:35: dns.providers.ns.tsig_secret_file: the file (relative to " + d +
            ") does not exist",
        f + "18:53: dns.providers.ns.command: unknown key 'command': only for \"exec\" providers",
        f + "19:44: dns.providers.hook.command: '/nonexistent/dns-hook' does not exist",
        f + "19:80: dns.providers.hook.timeout: invalid duration '2 min': use a number and a unit, "
            "like \"90s\", \"15m\", \"12h\" or \"21d\"",
        f + "20:45: dns.providers.plain.command: '/etc/passwd' is not executable (chmod +x it)",
        f + "22:37: dns.nameservers[1]: expected \"host\" or \"host:port\"",
        f + "24:22: dns.poll_interval: invalid duration '-1s': use a number and a unit, like "
            "\"90s\", \"15m\", \"12h\" or \"21d\"",
        f + "27:52: defaults.ssh.identity_file: '" + d + "/missing-id' does not exist",
        f + "27:81: warning: defaults.ssh.known_hosts: '" + d +
            "/kh-open' is writable by every user, who could add a host key; chmod 644 it",
        f + "28:33: defaults.ssh.connect_timeout: invalid duration '10': use a number and a unit, "
            "like \"90s\", \"15m\", \"12h\" or \"21d\"",
        f + "29:25: defaults.verify.port: expected an integer, not a string",
        f + "29:47: defaults.verify.server_name: wildcards are not allowed here",
        f + "29:64: defaults.verify.enable: unknown key 'enable' (did you mean 'enabled'?)",
        f + "30:17: defaults.key_mode: '0644' lets every user read or change the private key; use "
            "\"0600\" or \"0640\" with key_group",
        f + "30:38: defaults.key_group: expected a group name like \"ssl-cert\" (or null for none)",
        f + "31:65: defaults.audit.scan_dirs[0]: must be an absolute path (it is a path on the "
            "host)",
        f + "32:5: defaults.transport: unknown key 'transport': only allowed in a host",
        f + "35:37: groups.cdn.rollout.canary: must be between 0 and 1000000",
        f + "35:83: groups.cdn.ssh.known_hosts: '" + d + "/missing-kh' does not exist",
        f + "36:13: groups.eu.groups: unknown key 'groups': groups do not nest; list all of a "
            "host's groups in the host",
        f + "36:45: groups.eu.cert_root: must be an absolute path (it is a path on the host)",
        f + "39:66: hosts.edge-1.address: duplicate key (first at line 39, column 17)",
        f + "40:43: warning: hosts.edge-1.ssh.identity_file: '" + d +
            "/id-open' is accessible by others (OpenSSH would refuse it); chmod 600 it",
        f + "41:52: warning: hosts.edge-2.groups[0]: group 'cnd' is not declared in \"groups\" "
            "(did you mean 'cdn'?); it is used as a plain label",
        f + "41:59: hosts.edge-2.groups[1]: group names may contain letters, digits, '.', '_' and "
            "'-' and must start with a letter or digit",
        f + "41:87: hosts.edge-2.verify.address: expected a host name or an IP address",
        f + "42:69: hosts.self.cert_root: '/etc/passwd/live' cannot be created: '/etc/passwd' is "
            "not a directory",
        f + "43:31: hosts.self.test_command: '/nonexistent/nginx' does not exist",
        f + "43:74: hosts.self.reload_command: '/etc/passwd' is not executable (chmod +x it)",
        f + "47:43: certificates.site.deploy_to[2]: unknown host or group 'edge-3' (did you mean "
            "'edge-1'?)",
        f + "48:31: warning: certificates.site-rsa.domains[0]: 'www.example.org' is also in "
            "certificate 'site'",
        f + "48:50: warning: certificates.site-rsa.domains[1]: 'example.org' is also in "
            "certificate 'site'",
        f + "48:88: certificates.site-rsa.key: unknown key type 'rsa-1024': use ecdsa-p256, "
            "ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096",
        f + "49:47: certificates.shop.domains[1]: 'shop.example.org' is listed twice",
        f + "49:75: certificates.shop.dns: unknown DNS provider 'secondary'",
        f + "50:28: certificates.shop.reuse_key: expected true or false, not a string",
        f + "51:78: certificates.alias.challenge_alias: '_acme..example.net' is not a valid DNS "
            "name: empty label (a leading dot or two dots in a row)",
        f + "52:16: certificates.alias.hosts: unknown key 'hosts': use \"deploy_to\" with host or "
            "group names",
        f + "54:31: policy.renew_before: expected \"auto\" or a duration like \"30d\"",
        f + "54:54: policy.warn_before: invalid value '21 days': use a duration like \"21d\" or a "
            "fraction of the lifetime like \"0.2\"",
        f + "55:32: policy.keep_versions: must be between 1 and 1000",
        f + "55:35: policy.notify_intervall: unknown key 'notify_intervall' (did you mean "
            "'notify_interval'?)",
        f + "57:41: warning: notify[0].textfile: directory '" + d + "/no-such-dir' does not exist",
        f + "58:41: notify[1].textfile: '" + d + "/plain-file' is not a directory",
        f + "59:34: notify[2].command: '/nonexistent/notify-hook' does not exist",
        f + "61:24: notify[3].password_file: the file (relative to " + d + ") does not exist",
        f + "63:21: hooks.pre: '/nonexistent/pre-hook' does not exist",
        f + "63:84: hooks.deploy: '/etc/passwd' is not executable (chmod +x it)",
        f + "64:25: hooks.failure: expected a string, not a number",
        f + "64:28: hooks.timeot: unknown key 'timeot' (did you mean 'timeout'?)",
    };
    CHECK(formatted(result) == expected);
}

TEST_CASE("programs and directories the inventory names must be usable", "[inventory]") {
    TempDir dir;
    const std::string hook = dir.write("hook", "#!/bin/sh\n", 0755);
    const std::string plain = dir.write("not-executable", "#!/bin/sh\n", 0644);
    dir.mkdir("metrics");
    // Absolute programs that exist, shell words, PATH lookups: nothing to say.
    auto ok = parse(with_acme(R"("dns": { "providers": {
      "x": { "type": "exec", "command": ")" +
                              hook + R"( --flag" } } },
  "hooks": { "pre": "logger pre", "post": ")" +
                              hook + R"(", "deploy": "" },
  "notify": [{ "type": "prometheus", "textfile": "metrics/certfleet.prom" },
             { "type": "exec", "command": "relative/hook" }])"),
                    dir.path());
    CHECK(formatted(ok).empty());

    auto bad = parse(with_acme(R"("dns": { "providers": {
      "x": { "type": "exec", "command": ")" +
                               plain + R"(" } } },
  "hooks": { "failure": "/nonexistent/hook \"$CERTFLEET_CERT\"" },
  "notify": [{ "type": "prometheus", "textfile": "gone/certfleet.prom" }, { "type": 5 }])"),
                     dir.path());
    CHECK(formatted(bad) == std::vector<std::string>{
                                "inv.json:2:41: dns.providers.x.command: '" + plain +
                                    "' is not executable (chmod +x it)",
                                "inv.json:3:25: hooks.failure: '/nonexistent/hook' does not exist",
                                "inv.json:4:50: warning: notify[0].textfile: directory '" +
                                    dir.path() + "/gone' does not exist",
                                // A wrong notifier type is only that error, never a crash.
                                "inv.json:4:85: notify[1].type: expected a string, not a number",
                            });
}

TEST_CASE("ssh hosts without known_hosts get one warning, local hosts none", "[inventory]") {
    auto result = parse(with_acme(R"("hosts": {
    "a": { "address": "192.0.2.1" }, "b": { "address": "192.0.2.2" },
    "c": { "address": "192.0.2.3" }, "d": { "address": "192.0.2.4" },
    "self": { "transport": "local", "cert_root": "/tmp" } })"));
    REQUIRE(result.ok());
    CHECK(formatted(result) ==
          std::vector<std::string>{
              "inv.json:1:1: warning: defaults.ssh.known_hosts: not set for 'a', 'b', 'c' and 1 "
              "more" +
              std::string(kNoKnownHosts)});
}
