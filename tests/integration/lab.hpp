// Integration-test access to the local lab (examples/lab/lab): pebble + bind9
// and a fleet of hosts (sshd + one nginx per host) started once per ctest run
// by the lab_start fixture, described by $CERTFLEET_LAB_DIR/lab.env. Plus
// small helpers to run the certfleet binary and handle files in tests.
#pragma once

#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace certfleet::testing {

// One host of the lab's fleet: reached by ssh (Lab::ssh_*) at `address`, runs
// its own nginx serving media.example.test (default server) and
// www.example.test / example.test on `address`:Lab::nginx_port from
// cert_root/{media,www}/{fullchain,privkey}.pem. `lab start` puts hand-made
// certificates there (plain files signed by the lab CA, 30 days).
struct LabHost {
    std::string name;            // cdn-fra-1, cdn-ams-1, cdn-lon-1, cdn-nyc-1, cdn-5, ...
    std::string address;         // 127.A.B.(10+i) for LAB_ADDR 127.A.B.x, host i (1-based)
    std::string cert_root;       // LAB_DIR/hosts/NAME/live (absolute)
    std::string nginx_conf;      // LAB_DIR/hosts/NAME/nginx.conf
    std::string test_command;    // nginx -t -q -c NGINX_CONF
    std::string reload_command;  // nginx -s reload -c NGINX_CONF
};

struct Lab {
    // The running lab, read once from $CERTFLEET_LAB_DIR/lab.env (default: the
    // build tree's lab directory). When it is missing the calling test FAILS
    // with instructions to start the lab: integration tests never skip.
    static const Lab& get();

    std::string dir;               // LAB_DIR
    std::string addr;              // LAB_ADDR, e.g. 127.0.53.1
    std::string dns;               // LAB_DNS, "addr:port" of the authoritative named
    std::string tsig_name;         // LAB_TSIG_NAME (certfleet-key)
    std::string tsig_secret_file;  // base64 secret alone
    std::string tsig_key_file;     // nsupdate -k format
    std::string ca_bundle;         // lab CA that signed pebble's TLS certificate
    std::string acme_directory;    // https://ADDR:14000/dir
    std::string acme_mgmt;         // https://ADDR:15000
    std::string eab_directory;     // pebble requiring External Account Binding
    std::string eab_kid;           // kid-1
    std::string eab_key_file;      // base64url HMAC key

    // The fleet's access (all hosts alike); "" when started with LAB_HOSTS=0.
    std::string ssh_port;               // LAB_SSH_PORT, "2222"
    std::string ssh_user;               // LAB_SSH_USER, root
    std::string ssh_identity;           // private key (0600, no passphrase); .pub is authorized
    std::string ssh_known_hosts;        // "[ADDR]:PORT ssh-ed25519 ..." per host: the real key
    std::string ssh_known_hosts_wrong;  // the same hosts with another key (host key changed)
    std::string nginx_port;             // LAB_NGINX_PORT, "8443": where each host's nginx listens

    // Any lab.env value (e.g. "LAB_ZONES", "LAB_EAB_MGMT"); "" when absent.
    std::string value(const std::string& key) const;
    // Pebble's current root CA (PEM); it changes on every lab start.
    std::string root_pem() const;
    // TXT values at `name` on the lab's named (no recursion), unquoted.
    std::vector<std::string> txt(const std::string& name) const;
    // Stop / restart only named (DNS outage tests); zone contents are kept.
    void stop_dns() const;
    void start_dns() const;
    // Stop / restart only PowerDNS (zone pdns.test; its database is kept).
    void stop_pdns() const;
    void start_pdns() const;

    // The fleet, in order (LAB_FLEET; empty when started with LAB_HOSTS=0).
    std::vector<LabHost> hosts() const;
    // Stop / start only that host's nginx (its files stay); FAILs on an unknown name.
    void stop_host(const std::string& name) const;
    void start_host(const std::string& name) const;

private:
    static Lab load();
    std::vector<std::pair<std::string, std::string>> values_;  // all of lab.env
    std::vector<LabHost> hosts_;
};

// The serial of the certificate served at address:port for SNI server_name,
// as `openssl s_client ... | openssl x509 -noout -serial` sees it: lowercase
// hex without "serial=" and leading zeros. "" when no certificate could be
// had (nothing listening, handshake failure, 10 s timeout). An independent
// check of what a host really serves.
std::string served_serial(const std::string& address, int port, const std::string& server_name);
std::string served_serial(const std::string& address, const std::string& port,
                          const std::string& server_name);

struct CommandResult {
    int exit_code = -1;  // the exit status; 128+N when killed by signal N
    std::string out;
    std::string err;
};

// Runs the certfleet binary under test (CERTFLEET_BINARY) with `args`, stdin
// from /dev/null, `env` added to (or overriding) the test's environment.
// Killed after 10 minutes (exit_code 124, a note in err).
CommandResult run_certfleet(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env = {});

// Runs any command the same way (argv[0] looked up in PATH).
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& env = {});

// A new empty directory (mode 0700) under $TMPDIR or /tmp, named after `prefix`.
std::string make_temp_dir(const std::string& prefix);

// Creates or replaces `path` with exactly `mode`; parent directories are created.
// Throws std::runtime_error on failure.
void write_file(const std::string& path, const std::string& content, mode_t mode = 0644);

// Whole file; throws std::runtime_error when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace certfleet::testing
