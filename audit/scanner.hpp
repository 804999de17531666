// The audit's reader of one host, internal to app/ (audit_scan.cpp wires it):
// PEM files below a directory, certfleet's own <cert_root> layout, the web
// server's configuration (audit_scan_nginx.cpp) and what its endpoints serve.
// Every lstat and probe is remembered: paths are looked at again while links
// are resolved, and one endpoint is named by several servers. One per host;
// not thread-safe.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "audit/nginx_config.hpp"
#include "audit/scan.hpp"

namespace certfleet::audit::detail {

std::string parent_of(const std::string& path);
std::string join_path(const std::string& dir, const std::string& name);

class Scanner {
public:
    Scanner(distribute::Transport& t, audit::HostObservation& obs, const ScanLimits& limits,
            PemCache* cache)
        : m_t(t), m_obs(obs), m_limits(limits), m_cache(cache) {}

    // lstat, remembered; nullptr when absent (an error is also noted).
    const distribute::FileInfo* lstat(const std::string& path);
    // realpath(3) over the transport: every component's symlink followed.
    std::optional<std::string> resolve(const std::string& path);
    // Reads a regular file and keeps it when it holds PEM blocks.
    void read(const std::string& path, const distribute::FileInfo& info);
    // Every regular file below `dir`; symlinks are not followed.
    void walk(const std::string& dir, int depth);
    void scan_dir(const std::string& dir, const char* what);
    // <cert_root>: certfleet's own directories described, anything else scanned.
    void cert_root(const std::string& written);

    // The web server's configuration (dump command, or its files when that
    // fails) and, when limits.probe, what each TLS server serves.
    core::Status nginx(const std::string& command, const inventory::Host& host);
    // One TLS handshake per endpoint and host, whoever asks; a failure is noted.
    const audit::ObservedServe& probe(const std::string& address, int port, const std::string& sni);

private:
    void probe_uses(const std::vector<audit::NginxCertificateUse>& uses,
                    const std::string& host_address);
    std::optional<std::string> dump_failed(const distribute::CommandOutput& out,
                                           const std::string& command);
    static std::deque<std::string> split(const std::string& path);
    void describe_current(audit::ObservedCertDir& d);

    distribute::Transport& m_t;
    audit::HostObservation& m_obs;
    const ScanLimits& m_limits;
    PemCache* m_cache;
    std::map<std::string, distribute::FileInfo> m_stats;
    std::set<std::string> m_skipped;
    std::map<std::string, audit::ObservedServe> m_probes;  // by endpoint text
    std::size_t m_read = 0;
    std::size_t m_walked = 0;  // directory entries seen by walk()
};

}  // namespace certfleet::audit::detail
