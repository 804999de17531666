// Inventories for the issuance tests, written into a fresh directory that
// points at the running lab's CA and DNS.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "lab.hpp"

namespace certfleet::testing {

struct TestInventory {
    std::string dir;
    std::string path;
    std::string state_dir;
};

// `certificates` is the inventory's "certificates" object; `tweak` may edit the whole document.
inline TestInventory write_inventory(const std::string& prefix, const nlohmann::json& certificates,
                                     const std::function<void(nlohmann::json&)>& tweak = {}) {
    const Lab& lab = Lab::get();
    TestInventory t;
    t.dir = make_temp_dir(prefix);
    t.path = t.dir + "/certfleet.json";
    t.state_dir = t.dir + "/state";
    nlohmann::json inv = {
        {"state_dir", "state"},
        {"acme",
         {{"directory", lab.acme_directory},
          {"contact", {"mailto:ops@example.test"}},
          {"accept_terms", true},
          {"ca_bundle", lab.ca_bundle}}},
        {"dns",
         {{"providers",
           {{"lab-bind",
             {{"type", "rfc2136"},
              {"server", lab.dns},
              {"tsig_name", lab.tsig_name},
              {"tsig_algorithm", "hmac-sha256"},
              {"tsig_secret_file", lab.tsig_secret_file}}},
            {"lab-hook", {{"type", "exec"}, {"command", lab.dir + "/dns-hook"}}}}},
          {"nameservers", {lab.dns}},
          {"propagation_timeout", "20s"},
          {"poll_interval", "1s"}}},
        {"certificates", certificates}};
    if (tweak)
        tweak(inv);
    write_file(t.path, inv.dump(2), 0600);
    return t;
}

inline std::vector<std::string> cf_args(const TestInventory& t, std::vector<std::string> rest) {
    std::vector<std::string> args{"-c", t.path};
    args.insert(args.end(), rest.begin(), rest.end());
    return args;
}

}  // namespace certfleet::testing
