// The CA's JSON read defensively: members of the wrong type and absurd
// nesting (found while writing fuzz/acme_json_fuzz.cpp; its corpus holds the
// first) give values or errors, never exceptions or crashes.
#include <string>

#include <catch2/catch.hpp>

#include "acme/types.hpp"

using namespace certfleet;
using nlohmann::json;

TEST_CASE("problem documents with members of the wrong type are read, not thrown", "[acme]") {
    // nlohmann's value() throws type_error.302 for each of these.
    acme::Problem p;
    REQUIRE_NOTHROW(p = acme::parse_problem(R"({"type":1,"detail":["x"],"status":"429"})", 400));
    CHECK(p.type == "about:blank");
    CHECK(p.detail.empty());
    CHECK(p.status == 400);
    REQUIRE_NOTHROW(p = acme::parse_problem(
                        R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier",
                            "subproblems":[{"type":{},"detail":2,"identifier":{"value":3}},
                                           {"detail":"kept","identifier":"a.test"}]})",
                        400));
    CHECK(p.is("rejectedIdentifier"));
    REQUIRE(p.subproblems.size() == 2);
    CHECK(p.subproblems[0].type.empty());
    CHECK(p.subproblems[0].identifier.empty());
    CHECK(p.subproblems[1].detail == "kept");

    // The same inside an order's and a challenge's "error".
    const json order = json::parse(R"({"status":"invalid","error":{"type":false,"detail":7}})");
    auto parsed = acme::parse_order(order, "https://ca/order/1");
    REQUIRE(parsed);
    REQUIRE(parsed->error);
    CHECK(parsed->error->type == "about:blank");
}

TEST_CASE("an order whose error is nested a million deep is read without recursion", "[acme]") {
    // The error member used to be re-serialized and parsed again: dump()
    // recurses once per level and overflowed the stack long before the
    // client's 4 MiB body limit.
    constexpr std::size_t kDepth = 1'000'000;
    const std::string body =
        R"({"status":"invalid","error":{"type":"urn:ietf:params:acme:error:dns","x":)" +
        std::string(kDepth, '[') + std::string(kDepth, ']') + "}}";
    const json order = json::parse(body, nullptr, false);
    REQUIRE(order.is_object());
    auto parsed = acme::parse_order(order, "https://ca/order/1");
    REQUIRE(parsed);
    REQUIRE(parsed->error);
    CHECK(parsed->error->is("dns"));
}

TEST_CASE("account answers: only a string status counts", "[acme]") {
    CHECK(acme::parse_account(json::parse(R"({"status":"deactivated"})")).status == "deactivated");
    CHECK(acme::parse_account(json::parse(R"({"status":1})")).status.empty());
    CHECK(acme::parse_account(json::parse(R"(["status"])")).status.empty());
    CHECK(acme::parse_account(json()).status.empty());
}
