#include "distribute/known_hosts.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <vector>

#include "core/crypto.hpp"
#include "core/strings.hpp"

namespace certfleet::distribute {
namespace {

using core::ErrorKind;
using core::fail;

// A known_hosts file larger than this is not a known_hosts file.
constexpr std::size_t kMaxKnownHostsBytes = std::size_t{8} << 20;

struct KnownHostsDeleter {
    void operator()(LIBSSH2_KNOWNHOSTS* hosts) const { libssh2_knownhost_free(hosts); }
};
using KnownHostsPtr = std::unique_ptr<LIBSSH2_KNOWNHOSTS, KnownHostsDeleter>;

int knownhost_key_mask(int hostkey_type) {
    switch (hostkey_type) {
        case LIBSSH2_HOSTKEY_TYPE_RSA:
            return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
        case LIBSSH2_HOSTKEY_TYPE_DSS:
            return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
            return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
            return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
            return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
        case LIBSSH2_HOSTKEY_TYPE_ED25519:
            return LIBSSH2_KNOWNHOST_KEY_ED25519;
        default:
            return 0;
    }
}

std::vector<std::string> fields_of(const std::string& line) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    std::string field;
    while (in >> field) {
        fields.push_back(field);
    }
    return fields;
}

// "ssh-ed25519 SHA256:..." for a base64 key as it appears in the file.
std::string describe_base64_key(const std::string& base64) {
    auto blob = core::base64_decode(base64);
    if (!blob) {
        return "an undecodable key";
    }
    return key_blob_type(*blob) + " " + sha256_fingerprint(*blob);
}

// The key the host offered during the handshake, in every form the messages need.
struct OfferedKey {
    std::string blob;
    int knownhost_mask = 0;
    std::string type;         // "ssh-ed25519"
    std::string fingerprint;  // "SHA256:..."
    std::string base64;       // as a known_hosts line carries it
};

// Runs libssh2's own matcher on one line, so plain, hashed and
// comma-separated host names behave exactly as in the full check.
int check_one_line(LIBSSH2_SESSION* session, const std::string& line, const std::string& name,
                   const OfferedKey& key, std::string* known_base64) {
    KnownHostsPtr hosts(libssh2_knownhost_init(session));
    if (!hosts) {
        return LIBSSH2_KNOWNHOST_CHECK_FAILURE;
    }
    const std::string text = line + "\n";
    if (libssh2_knownhost_readline(hosts.get(), text.c_str(), text.size(),
                                   LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
        return LIBSSH2_KNOWNHOST_CHECK_FAILURE;
    }
    libssh2_knownhost* found = nullptr;
    // Port -1: `name` already carries "[addr]:port" the way OpenSSH files it.
    // (With a port, libssh2 would also accept the bare "addr" entry of port 22.)
    int rc = libssh2_knownhost_checkp(
        hosts.get(), name.c_str(), -1, key.blob.data(), key.blob.size(),
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key.knownhost_mask, &found);
    if (found != nullptr && found->key != nullptr && known_base64 != nullptr) {
        *known_base64 = found->key;
    }
    return rc;
}

const char* algorithm_of_mask(int mask) {
    switch (mask) {
        case LIBSSH2_KNOWNHOST_KEY_SSHRSA:
            return "ssh-rsa";
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_256:
            return "ecdsa-sha2-nistp256";
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_384:
            return "ecdsa-sha2-nistp384";
        case LIBSSH2_KNOWNHOST_KEY_ECDSA_521:
            return "ecdsa-sha2-nistp521";
        case LIBSSH2_KNOWNHOST_KEY_ED25519:
            return "ssh-ed25519";
        default:
            return nullptr;
    }
}

// Host-only match: with key type 0 libssh2 compares every entry of a matching
// name, so a dummy key yields MISMATCH exactly when the name matches, and the
// entry found tells its key type. Works for hashed names too.
int key_mask_for_name(LIBSSH2_SESSION* session, const std::string& line, const std::string& name) {
    KnownHostsPtr hosts(libssh2_knownhost_init(session));
    const std::string text = line + "\n";
    if (!hosts || libssh2_knownhost_readline(hosts.get(), text.c_str(), text.size(),
                                             LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
        return 0;
    }
    const char dummy[] = "certfleet";
    libssh2_knownhost* found = nullptr;
    int rc = libssh2_knownhost_checkp(hosts.get(), name.c_str(), -1, dummy, sizeof dummy - 1,
                                      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW,
                                      &found);
    if (rc != LIBSSH2_KNOWNHOST_CHECK_MISMATCH || found == nullptr) {
        return 0;
    }
    return found->typemask & LIBSSH2_KNOWNHOST_KEY_MASK;
}

}  // namespace

std::string host_key_algorithms(LIBSSH2_SESSION* session, const std::string& known_hosts,
                                const std::string& name) {
    std::vector<std::string> order;
    std::ifstream in(known_hosts, std::ios::binary);
    std::size_t total = 0;
    for (std::string line; in && std::getline(in, line) && total < kMaxKnownHostsBytes;) {
        total += line.size() + 1;
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#' || line[first] == '@') {
            continue;
        }
        if (const char* algorithm = algorithm_of_mask(key_mask_for_name(session, line, name))) {
            if (std::find(order.begin(), order.end(), algorithm) == order.end()) {
                order.emplace_back(algorithm);
            }
        }
    }
    // libssh2 1.10's own order, minus ssh-dss (OpenSSH dropped it).
    for (const char* algorithm : {"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                  "ecdsa-sha2-nistp521", "ssh-ed25519", "ssh-rsa"}) {
        if (std::find(order.begin(), order.end(), algorithm) == order.end()) {
            order.emplace_back(algorithm);
        }
    }
    std::string list;
    for (const auto& algorithm : order) {
        list += (list.empty() ? "" : ",") + algorithm;
    }
    return list;
}

std::string known_hosts_name(const std::string& address, int port) {
    // OpenSSH compares host names case-insensitively by lowercasing them.
    const std::string name = core::lower(address);
    return port == 22 ? name : "[" + name + "]:" + std::to_string(port);
}

std::string key_blob_type(std::string_view key_blob) {
    if (key_blob.size() < 4) {
        return {};
    }
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) {
        len = (len << 8) | static_cast<unsigned char>(key_blob[static_cast<std::size_t>(i)]);
    }
    if (len == 0 || len > 64 || key_blob.size() < 4 + std::size_t{len}) {
        return {};
    }
    return std::string(key_blob.substr(4, len));
}

std::string sha256_fingerprint(std::string_view key_blob) {
    std::string b64 = core::base64_encode(core::sha256(key_blob));
    while (!b64.empty() && b64.back() == '=') {
        b64.pop_back();
    }
    return "SHA256:" + b64;
}

namespace {

// Blank lines, comments and marker lines (@revoked, @cert-authority) name no
// host for libssh2's matcher.
bool is_host_line(const std::string& line) {
    const auto first = line.find_first_not_of(" \t");
    return first != std::string::npos && line[first] != '#' && line[first] != '@';
}

// One verification in progress: the host, the name it is filed under and the
// key it offered, in the forms every message needs.
struct KeyCheck {
    const HostKeyCheck& check;
    std::string name;  // as known_hosts files it
    OfferedKey key;

    const std::string& host() const { return check.host_name; }
    std::string offered() const { return key.type + " " + key.fingerprint; }
    // The known_hosts line for the offered key, for the operator to add once verified.
    std::string line_to_add() const { return name + " " + key.type + " " + key.base64; }
};

core::Result<OfferedKey> read_offered_key(LIBSSH2_SESSION* session, const std::string& host,
                                          const std::string& name) {
    std::size_t key_len = 0;
    int key_type = LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
    const char* raw_key = libssh2_session_hostkey(session, &key_len, &key_type);
    if (raw_key == nullptr || key_len == 0) {
        return fail(ErrorKind::Protocol,
                    host + ": " + name + " sent no host key; nothing was touched",
                    "check that an SSH server listens there");
    }
    OfferedKey key;
    key.blob.assign(raw_key, key_len);
    key.knownhost_mask = knownhost_key_mask(key_type);
    key.type = key_blob_type(key.blob);
    key.fingerprint = sha256_fingerprint(key.blob);
    key.base64 = core::base64_encode(key.blob);
    if (key.knownhost_mask == 0) {
        return fail(
            ErrorKind::Protocol,
            host + ": " + name + " offers a host key of an unsupported type (" + key.type + " " +
                key.fingerprint + "); nothing was touched",
            "give the host an ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa host key");
    }
    return key;
}

// Read by hand (not libssh2_knownhost_readfile) to report line numbers and
// to see the @revoked markers libssh2 1.10 does not understand.
core::Result<std::vector<std::string>> read_known_hosts_lines(const KeyCheck& c) {
    const std::string& file = c.check.known_hosts;
    if (file.empty()) {
        return fail(
            ErrorKind::Config,
            c.host() +
                ": no ssh.known_hosts file is configured; certfleet never trusts a host "
                "key on first use (the host offers " +
                c.offered() + "); nothing was touched",
            "set ssh.known_hosts to a file with the host's verified key line: " + c.line_to_add());
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail(ErrorKind::Config,
                    c.host() + ": cannot read known_hosts file " + file + ": " +
                        std::generic_category().message(errno) +
                        "; certfleet never trusts a host key on first use (the host offers " +
                        c.offered() + "); nothing was touched",
                    "create the file with the host's verified key line: " + c.line_to_add());
    }
    std::vector<std::string> lines;
    std::size_t total = 0;
    for (std::string line; std::getline(in, line);) {
        total += line.size() + 1;
        if (total > kMaxKnownHostsBytes) {
            return fail(ErrorKind::Config,
                        c.host() + ": known_hosts file " + file +
                            " is larger than 8 MiB; nothing was touched",
                        "point ssh.known_hosts at a real known_hosts file");
        }
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        lines.push_back(std::move(line));
    }
    if (in.bad()) {
        return fail(ErrorKind::Config, c.host() + ": cannot read known_hosts file " + file + ": " +
                                           std::generic_category().message(errno));
    }
    return lines;
}

// A line starting with '@': @cert-authority is ignored (no host
// certificates), @revoked refuses its key, any other marker is an error.
core::Status check_marker_line(const KeyCheck& c, const std::string& line,
                               const std::string& where) {
    auto fields = fields_of(line);
    if (fields[0] == "@cert-authority") {
        return {};
    }
    if (fields[0] == "@revoked") {
        // OpenSSH refuses a revoked key whatever host name the line lists.
        if (fields.size() >= 4 && fields[3] == c.key.base64) {
            return fail(ErrorKind::Protocol,
                        c.host() + ": the host key of " + c.name + " (" + c.offered() +
                            ") is marked @revoked in " + where + "; nothing was touched",
                        "find out why the host still uses a revoked key; give it a new "
                        "host key and add that, verified, to " +
                            c.check.known_hosts);
        }
        return {};
    }
    return fail(ErrorKind::Config,
                c.host() + ": cannot parse " + where + ": unknown marker " + fields[0],
                "fix or remove the line");
}

// Feeds every host line to libssh2, in order, stopping at the first line
// that is revoked for this key or cannot be parsed.
core::Status load_known_hosts(LIBSSH2_KNOWNHOSTS* hosts, const KeyCheck& c,
                              const std::vector<std::string>& lines) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        const std::string where = c.check.known_hosts + " line " + std::to_string(i + 1);
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        if (line[first] == '@') {
            if (auto s = check_marker_line(c, line, where); !s) {
                return s;
            }
            continue;
        }
        const std::string text = line + "\n";
        if (libssh2_knownhost_readline(hosts, text.c_str(), text.size(),
                                       LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
            return fail(ErrorKind::Config, c.host() + ": cannot parse " + where,
                        "fix or remove the line; expected `NAME[,NAME...] KEYTYPE BASE64KEY` or a "
                        "hashed |1|salt|hash name (ssh-keygen -H)");
        }
    }
    return {};
}

// A host filed only under other key types (typically ssh-rsa, which libssh2
// 1.10 cannot negotiate with OpenSSH 8.8+) is "not found": say so.
core::Failure host_not_known(LIBSSH2_SESSION* session, const KeyCheck& c,
                             const std::vector<std::string>& lines) {
    std::string other;
    for (const auto& line : lines) {
        if (!is_host_line(line)) {
            continue;
        }
        const char* algorithm = algorithm_of_mask(key_mask_for_name(session, line, c.name));
        if (algorithm != nullptr && other.find(algorithm) == std::string::npos) {
            other += (other.empty() ? "" : ", ") + std::string(algorithm);
        }
    }
    const std::string& file = c.check.known_hosts;
    return fail(
        ErrorKind::Config,
        c.host() + ": host key of " + c.name + " is not in " + file + " (" + c.offered() +
            "); verify it out of band, then add: " + c.line_to_add(),
        (other.empty() ? ""
                       : file + " lists " + c.name + " only with " + other +
                             " keys, which the host does not offer " + "to libssh2 1.10; ") +
            "compare the fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` run "
            "on the host itself (console, not over this network) before adding the line");
}

// The host offers a key other than the one on file: name the line (found
// again one line at a time, as libssh2 does not tell) and both keys.
core::Failure host_key_changed(LIBSSH2_SESSION* session, const KeyCheck& c,
                               const std::vector<std::string>& lines,
                               const libssh2_knownhost* found) {
    std::string line_no = "?";
    std::string known_base64 = found != nullptr && found->key != nullptr ? found->key : "";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!is_host_line(lines[i])) {
            continue;
        }
        std::string line_key;
        if (check_one_line(session, lines[i], c.name, c.key, &line_key) ==
            LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
            line_no = std::to_string(i + 1);
            known_base64 = line_key;
            break;
        }
    }
    return fail(ErrorKind::Protocol,
                c.host() + ": HOST KEY CHANGED for " + c.name + ": " + c.check.known_hosts +
                    " line " + line_no + " has " + describe_base64_key(known_base64) +
                    ", the host offers " + c.offered() +
                    " — possible man-in-the-middle; nothing was touched",
                "find out why the key changed (reinstalled host? another machine at this "
                "address?); only after verifying the new key out of band replace line " +
                    line_no + " with: " + c.line_to_add());
}

// Matches the offered key against every line loaded into `hosts`.
core::Status match_offered_key(LIBSSH2_SESSION* session, LIBSSH2_KNOWNHOSTS* hosts,
                               const KeyCheck& c, const std::vector<std::string>& lines) {
    libssh2_knownhost* found = nullptr;
    const int rc = libssh2_knownhost_checkp(
        hosts, c.name.c_str(), -1, c.key.blob.data(), c.key.blob.size(),
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | c.key.knownhost_mask, &found);
    switch (rc) {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return {};
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            return host_not_known(session, c, lines);
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            return host_key_changed(session, c, lines, found);
        default:
            return fail(ErrorKind::Generic, c.host() + ": could not check the host key of " +
                                                c.name + " against " + c.check.known_hosts +
                                                "; nothing was touched");
    }
}

}  // namespace

core::Status verify_host_key(LIBSSH2_SESSION* session, const HostKeyCheck& check) {
    const std::string name = known_hosts_name(check.address, check.port);
    auto key = read_offered_key(session, check.host_name, name);
    if (!key) {
        return key.failure();
    }
    const KeyCheck c{check, name, std::move(*key)};
    auto lines = read_known_hosts_lines(c);
    if (!lines) {
        return lines.failure();
    }
    KnownHostsPtr hosts(libssh2_knownhost_init(session));
    if (!hosts) {
        return fail(ErrorKind::Generic,
                    check.host_name + ": out of memory while checking the host key");
    }
    if (auto s = load_known_hosts(hosts.get(), c, *lines); !s) {
        return s;
    }
    return match_offered_key(session, hosts.get(), c, *lines);
}

}  // namespace certfleet::distribute
