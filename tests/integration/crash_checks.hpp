// The invariants the crash test asserts after each killed run and its
// repair: what the store, the ledger, the hosts, nginx and the DNS zone hold
// must agree, and nothing half-written may be referenced.
#pragma once

#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "core/crypto.hpp"
#include "crash_support.hpp"
#include "state/ledger.hpp"
#include "state/store.hpp"

namespace certfleet::testing {

struct CrashCert {
    std::string name;                          // inventory name
    std::string sni;                           // what the hosts serve it for
    std::vector<std::string> challenge_names;  // where its TXT records go
};

inline std::string link_text(const std::string& path) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// A version directory holding a complete, matching pair: "" or what is wrong.
inline std::string pair_problem(const std::string& dir, const std::string& serial = "") {
    std::string files[4];
    const char* names[4] = {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"};
    for (int i = 0; i < 4; ++i) {
        try {
            files[i] = read_file(dir + "/" + names[i]);
        } catch (const std::exception& e) {
            return std::string(names[i]) + " unreadable: " + e.what();
        }
    }
    auto info = core::parse_certificate_pem(files[0]);
    if (!info)
        return "cert.pem does not parse";
    if (!serial.empty() && info->serial_hex != serial)
        return "cert.pem has serial " + info->serial_hex + ", expected " + serial;
    if (files[2].rfind(files[0], 0) != 0)
        return "fullchain.pem does not start with cert.pem";
    auto key = core::PrivateKey::from_pem(files[3]);
    if (!key)
        return "privkey.pem does not parse";
    auto match = core::key_matches_certificate(*key, files[0]);
    if (!match || !*match)
        return "privkey.pem does not match cert.pem";
    return {};
}

// Every TXT value at the certificates' challenge names on the lab's named
// (one dig for all names, recursion off), to compare with what was there
// before the test: the zone is shared with the other tests.
inline std::map<std::string, std::set<std::string>> challenge_txt(
    const std::vector<CrashCert>& certs) {
    const Lab& lab = Lab::get();
    const auto colon = lab.dns.rfind(':');
    std::vector<std::string> argv{"dig",
                                  "+noall",
                                  "+answer",
                                  "+norec",
                                  "+time=2",
                                  "+tries=2",
                                  "-p",
                                  lab.dns.substr(colon + 1),
                                  "@" + lab.dns.substr(0, colon)};
    std::map<std::string, std::set<std::string>> out;
    for (const auto& c : certs)
        for (const auto& name : c.challenge_names) {
            argv.insert(argv.end(), {name, "TXT"});
            out[name];
        }
    auto r = run_command(argv);
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(r.out);
    for (std::string name, ttl, cls, type, value; lines >> name >> ttl >> cls >> type;) {
        std::getline(lines, value);
        value.erase(0, value.find_first_not_of(" \t"));
        if (type == "TXT" && out.count(name))
            out[name].insert(value);
    }
    return out;
}

// "version X" or "version X: error" -> "X".
inline std::string event_version(const std::string& detail) {
    const std::string prefix = "version ";
    if (detail.rfind(prefix, 0) != 0)
        return {};
    return detail.substr(prefix.size(), detail.find(':') - prefix.size());
}

// Right after the kill, before any repair: whatever `current` names (store or
// host) is a complete, matching pair, the stable names resolve to one, and
// every host still completes a TLS handshake — old or new, never half.
inline void check_never_half(const std::string& state_dir, const std::vector<CrashCert>& certs) {
    std::vector<std::pair<std::string, std::future<std::string>>> probes;
    for (const auto& c : certs) {
        INFO("certificate " << c.name);
        const std::string store_dir = state_dir + "/certificates/" + c.name;
        const std::string target = link_text(store_dir + "/current");
        if (!target.empty())
            CHECK(pair_problem(store_dir + "/" + target) == "");
        for (const auto& h : Lab::get().hosts()) {
            INFO("host " << h.name);
            const std::string dir = h.cert_root + "/" + c.name;
            const std::string current = link_text(dir + "/current");
            if (!current.empty())
                CHECK(pair_problem(dir + "/" + current) == "");
            auto key = core::PrivateKey::from_pem(read_file(dir + "/privkey.pem"));
            REQUIRE(key);
            auto match = core::key_matches_certificate(*key, read_file(dir + "/fullchain.pem"));
            CHECK((match && *match));
            probes.emplace_back(h.name + " " + c.sni,
                                std::async(std::launch::async, [h, sni = c.sni] {
                                    return served_serial(h.address, Lab::get().nginx_port, sni);
                                }));
        }
    }
    for (auto& [what, served] : probes) {
        INFO("served by " << what);
        CHECK_FALSE(served.get().empty());
    }
}

// Store, ledger, hosts, what nginx serves and the zone agree.
inline void check_consistent(const std::string& state_dir, const std::vector<CrashCert>& certs,
                             const std::map<std::string, std::set<std::string>>& txt_before) {
    const auto hosts = Lab::get().hosts();
    auto store = state::Store::open_readonly(state_dir);
    auto ledger = state::Ledger::open(state_dir + "/ledger.sqlite");
    REQUIRE(ledger);
    const auto events = ledger->latest_host_events();
    // Nothing left in flight: the repair cleaned up every order and
    // challenge record the killed run had started.
    CHECK(ledger->published_challenges().empty());
    CHECK(ledger->open_orders().empty());
    struct Probe {
        std::string what, expected;
        std::future<std::string> served;
    };
    std::vector<Probe> probes;
    for (const auto& c : certs) {
        INFO("certificate " << c.name);
        // The store: `current` names a complete, matching version.
        const std::string store_dir = store.certificate_dir(c.name);
        const std::string target = link_text(store_dir + "/current");
        INFO("store current -> " << target);
        REQUIRE(target.rfind("versions/", 0) == 0);
        const std::string version = target.substr(9);
        CHECK(version.rfind(".tmp", 0) != 0);
        auto current = store.current(c.name);
        REQUIRE(current);
        CHECK(pair_problem(store_dir + "/" + target) == "");
        const std::string serial = current->info.serial_hex;

        // The ledger: its last issuance is the store's current version.
        auto issued = ledger->issuances(c.name);
        REQUIRE_FALSE(issued.empty());
        CHECK(issued.back().version == version);
        CHECK(issued.back().serial == serial);

        for (const auto& h : hosts) {
            INFO("host " << h.name);
            const std::string dir = h.cert_root + "/" + c.name;
            // The host: current is the store's version, every version there
            // is complete, the stable names go through current, no leftovers.
            CHECK(link_text(dir + "/current") == target);
            CHECK(pair_problem(dir + "/" + target, serial) == "");
            for (const char* f : {"cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"})
                CHECK(link_text(dir + "/" + f) == std::string("current/") + f);
            for (const auto& e : std::filesystem::directory_iterator(dir + "/versions")) {
                const std::string name = e.path().filename().string();
                INFO("versions/" << name);
                CHECK(name.rfind(".tmp-", 0) != 0);  // the deploying run removed it
                if (name[0] != '.')
                    CHECK(pair_problem(e.path().string()) == "");
            }
            for (const auto& e : std::filesystem::directory_iterator(dir)) {
                const std::string name = e.path().filename().string();
                CHECK_FALSE((name[0] == '.' && name.size() > 4 &&
                             name.compare(name.size() - 4, 4, ".tmp") == 0));
            }
            // The ledger's last word on this host is what the host has.
            auto event = events.find({c.name, h.name});
            REQUIRE(event != events.end());
            CHECK((event->second.kind == state::EventKind::Deployed ||
                   event->second.kind == state::EventKind::Unchanged));
            CHECK(event_version(event->second.detail) == version);
            probes.push_back({h.name + " " + c.sni, serial,
                              std::async(std::launch::async, [h, sni = c.sni, serial] {
                                  return settled_serial(h, sni, serial);
                              })});
        }
    }
    // nginx really serves it: an independent TLS handshake per host and name
    // (all at once; Catch's assertions stay on this thread).
    for (auto& p : probes) {
        INFO("served by " << p.what);
        CHECK(p.served.get() == p.expected);
    }
    // No challenge record the runs added is left in the zone.
    CHECK(challenge_txt(certs) == txt_before);
}

// The store's leftovers of interrupted writes (never referenced; removed by
// the next Store::add_version).
inline std::vector<std::string> store_leftovers(const std::string& state_dir,
                                                const std::vector<CrashCert>& certs) {
    std::vector<std::string> out;
    for (const auto& c : certs) {
        const std::string dir = state_dir + "/certificates/" + c.name + "/versions";
        if (!std::filesystem::exists(dir))
            continue;
        for (const auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().filename().string()[0] == '.')
                out.push_back(e.path().string());
    }
    return out;
}

}  // namespace certfleet::testing
