// What `audit` looks at on one host, over its Transport: the certificate and
// key files the web server really loads (config_dump_command, default
// `nginx -T`), everything under cert_root, and the host's scan_dirs; every PEM
// file among them parsed; then a TLS handshake per endpoint those files are
// served on. Reading only: nothing on the host is changed.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "audit/classify.hpp"
#include "core/pem_scan.hpp"
#include "core/result.hpp"
#include "distribute/transport.hpp"
#include "inventory/model.hpp"

namespace certfleet::audit {

struct ScanLimits {
    std::size_t max_files = 20000;           // PEM candidates read per host
    std::uint64_t max_file_bytes = 1 << 20;  // larger files are not certificates
    int max_depth = 8;                       // below each scanned directory
    std::size_t max_entries = 200000;        // directory entries walked per host
    core::Seconds command_timeout{60};       // config_dump_command
    core::Seconds probe_timeout{5};
    std::size_t max_probes = 64;  // TLS endpoints probed per host (the rest: noted)
    bool probe = true;
    // Probes end by it too (the transport's own deadline bounds the rest).
    std::optional<distribute::Deadline> deadline;
};

// A fleet holds the same files on many hosts (one certificate on every CDN
// node, the same chains): each distinct file is parsed once per audit, since
// with OpenSSL 3.0 decoding a certificate or key costs ~1 ms. Keyed by the
// content's SHA-256; holds only what scan_pem returns (no key material).
class PemCache {
public:
    core::PemScan scan(std::string_view content);

private:
    std::mutex m_mutex;
    std::unordered_map<std::string, core::PemScan> m_by_digest;
};

// Fails only when the host cannot be audited at all (the dump command fails
// and its configuration cannot be read either); smaller gaps become
// `unchecked` notes on the observation. `certificates`: the ones deployed to
// this host, whose verify endpoints are probed when `limits.probe`.
core::Result<audit::HostObservation> observe_host(distribute::Transport& transport,
                                                  const inventory::Inventory& inventory,
                                                  const inventory::Host& host,
                                                  const std::vector<std::string>& certificates,
                                                  const ScanLimits& limits,
                                                  PemCache* cache = nullptr);

// The manager's own store, read locally: <state_dir>/certificates and the
// account keys beside it.
audit::HostObservation observe_store(const inventory::Inventory& inventory,
                                     const ScanLimits& limits);

}  // namespace certfleet::audit
