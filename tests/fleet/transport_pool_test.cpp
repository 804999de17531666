// TransportPool: a host's connection is closed after its last use in a
// command, and only a bounded number wait open for a host's next certificate,
// so a deployment to 1,000 hosts holds connections for --concurrency hosts,
// not for the fleet.
#include <catch2/catch.hpp>

#include "fleet/hosts.hpp"

using namespace certfleet;

namespace {

inventory::Inventory local_fleet(int n) {
    inventory::Inventory inv;
    for (int i = 1; i <= n; ++i) {
        inventory::Host h;
        h.name = "h" + std::to_string(i);
        h.transport = inventory::HostTransport::Local;
        inv.hosts[h.name] = h;
    }
    return inv;
}

}  // namespace

TEST_CASE("the pool closes a host's connection after its last use", "[fleet]") {
    const auto inv = local_fleet(10);
    fleet::TransportPool pool(inv, 2);
    for (int i = 1; i <= 10; ++i)
        (void)pool.get("h" + std::to_string(i));
    CHECK(pool.open_count() == 10);  // in use at once: what --concurrency allows
    for (int i = 1; i <= 10; ++i)
        pool.release("h" + std::to_string(i), false);
    CHECK(pool.open_count() == 0);
    pool.release("h1", false);  // released twice, or never used: nothing happens
    pool.release("h99", true);
    CHECK(pool.open_count() == 0);
}

TEST_CASE("at most max_idle connections wait for a host's next certificate", "[fleet]") {
    const auto inv = local_fleet(5);
    fleet::TransportPool pool(inv, 2);
    auto* first = &pool.get("h1");
    for (int i = 2; i <= 5; ++i)
        (void)pool.get("h" + std::to_string(i));
    for (int i = 1; i <= 5; ++i)
        pool.release("h" + std::to_string(i), true);
    CHECK(pool.open_count() == 2);    // h1 and h2 kept, the others closed
    CHECK(&pool.get("h1") == first);  // the kept connection is reused
    pool.release("h1", true);
    CHECK(pool.open_count() == 2);
    (void)pool.get("h5");  // closed before: opened again
    CHECK(pool.open_count() == 3);
    pool.release("h5", true);  // no idle room left
    CHECK(pool.open_count() == 2);
    pool.release("h1", false);
    CHECK(pool.open_count() == 1);
}
