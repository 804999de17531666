// renew --host: the certificates a renewal limited to hosts covers.
#include "operations/renew.hpp"

#include <catch2/catch.hpp>

using namespace certfleet;

namespace {

// media on cdn-1 and cdn-2, site on cdn-2 only, api on no host.
inventory::Inventory fleet() {
    inventory::Inventory inv;
    for (const char* host : {"cdn-1", "cdn-2"})
        inv.hosts[host].name = host;
    auto add = [&](const char* name, std::vector<std::string> to) {
        inv.certificates[name].name = name;
        inv.certificates[name].deploy_to = std::move(to);
    };
    add("media", {"cdn-1", "cdn-2"});
    add("site", {"cdn-2"});
    add("api", {});
    return inv;
}

}  // namespace

TEST_CASE("renew without --host covers the names given, or all", "[renew]") {
    auto inv = fleet();
    CHECK(operations::certificates_to_renew(inv, {"api"}, {}).value() ==
          std::vector<std::string>{"api"});
    CHECK(operations::certificates_to_renew(inv, {}, {}).value().empty());
}

TEST_CASE("renew --host covers what the host serves, narrowed by the names", "[renew]") {
    auto inv = fleet();
    CHECK(operations::certificates_to_renew(inv, {}, {"cdn-2"}).value() ==
          std::vector<std::string>{"media", "site"});
    CHECK(operations::certificates_to_renew(inv, {"site", "api"}, {"cdn-2"}).value() ==
          std::vector<std::string>{"site"});
    CHECK(operations::certificates_to_renew(inv, {}, {"cdn-2", "cdn-1"}).value() ==
          std::vector<std::string>{"media"});
}

TEST_CASE("renew --host for a host that serves none of the names is an error naming it",
          "[renew]") {
    auto r = operations::certificates_to_renew(fleet(), {"site"}, {"cdn-1"});
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == core::ErrorKind::Config);
    CHECK(r.error().message == "host 'cdn-1' serves none of the named certificates");
}
