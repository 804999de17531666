// Benchmark helper (bench/inventory_scale.sh): what `audit` spends mapping
// hosts to their certificates. Before 91342d7 it asked certificates_for_host
// twice per host (observe_host and classify_host), each a walk over every
// certificate; now certificates_by_host builds the whole map once per audit.
// Times both over an inventory and checks they agree.
//
//   host_index INVENTORY [RUNS]     prints one line; exit 1 if the maps differ
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "inventory/load.hpp"
#include "inventory/model.hpp"

namespace {

using certfleet::inventory::certificates_by_host;
using certfleet::inventory::certificates_for_host;
using certfleet::inventory::Inventory;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: host_index INVENTORY [RUNS]\n");
        return 2;
    }
    const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
    auto loaded = certfleet::inventory::load_inventory(argv[1]);
    if (!loaded.ok()) {
        std::fprintf(stderr, "host_index: cannot load %s\n", argv[1]);
        return 2;
    }
    const Inventory& inv = *loaded.inventory;
    double per_host = 1e9, once = 1e9;
    std::size_t pairs_per_host = 0, pairs_once = 0;
    bool same = true;
    for (int r = 0; r < runs; ++r) {
        auto start = Clock::now();
        pairs_per_host = 0;
        for (const auto& [host, _] : inv.hosts)
            for (int call = 0; call < 2; ++call)  // observe_host and classify_host
                pairs_per_host += certificates_for_host(inv, host).size();
        per_host = std::min(per_host, seconds_since(start));

        start = Clock::now();
        const auto map = certificates_by_host(inv);
        once = std::min(once, seconds_since(start));
        pairs_once = 0;
        for (const auto& [host, certs] : map) {
            pairs_once += certs.size();
            same = same && certs == certificates_for_host(inv, host);
        }
    }
    same = same && pairs_per_host == 2 * pairs_once;
    std::printf(
        "audit host index, %zu hosts x %zu certificates (%zu pairs), best of %d: "
        "certificates_for_host twice per host %.3f s, certificates_by_host once %.4f s (%.0fx)%s\n",
        inv.hosts.size(), inv.certificates.size(), pairs_once, runs, per_host, once,
        per_host / once, same ? "" : "  MAPS DIFFER");
    return same ? 0 : 1;
}
