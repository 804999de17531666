// SigV4 (acme/dns/aws_sigv4.hpp) against AWS's published test suite, and the
// verifier the Route 53 fake checks every request with: written here apart
// from certfleet's signer (its own canonical form, OpenSSL directly) and
// proved right by libcurl's independent signer (CURLOPT_AWS_SIGV4), which it
// must accept, while a changed byte or a wrong secret must be refused.
#include "acme/dns/aws_sigv4.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "support/fake_api_server.hpp"
#include "support/sigv4_verifier.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::test::ApiRequest;
using certfleet::test::ApiResponse;
using certfleet::test::FakeApiServer;

namespace {

using certfleet::test::sigv4_check::signature_problem;

const AwsCredentials kSuiteKeys{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kSuiteDate = "20150830T123600Z";

std::string header_value(const core::HttpRequest& request, const std::string& name) {
    for (const auto& h : request.headers)
        if (h.starts_with(name + ": "))
            return h.substr(name.size() + 2);
    return "";
}

// The suite's request, signed with the suite's keys, date, region and service.
core::HttpRequest suite_signed(const std::string& method, const std::string& url,
                               std::vector<std::string> headers = {}, std::string body = "") {
    core::HttpRequest request{method, url, std::move(headers), std::move(body)};
    sigv4::sign_request(request, kSuiteKeys, "us-east-1", "service", kSuiteDate);
    return request;
}

std::string suite_authorization(const std::string& signed_headers, const std::string& signature) {
    return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
           "SignedHeaders=" +
           signed_headers + ", Signature=" + signature;
}

// A request as the fake server sees it, from one certfleet built.
ApiRequest as_received(const core::HttpRequest& request) {
    ApiRequest r;
    r.method = request.method;
    const auto path_start = request.url.find('/', request.url.find("://") + 3);
    r.target = request.url.substr(path_start);
    const auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
    for (const auto& h : request.headers) {
        std::string name = h.substr(0, h.find(':'));
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string value = h.substr(h.find(':') + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        r.headers.emplace_back(name, value);
    }
    r.body = request.body;
    return r;
}

}  // namespace

TEST_CASE("sigv4: AWS's published test suite", "[sigv4]") {
    SECTION("get-vanilla") {
        const auto request = suite_signed("GET", "https://example.amazonaws.com/");
        CHECK(sigv4::canonical_request(request).text ==
              "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
              "host;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        CHECK(header_value(request, "Authorization") ==
              suite_authorization("host;x-amz-date",
                                  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260"
                                  "956d9b8aae1d763fbf31"));
    }
    SECTION("get-vanilla-query-order-key-case") {
        const auto request =
            suite_signed("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1");
        const auto canonical = sigv4::canonical_request(request);
        CHECK(canonical.text.starts_with("GET\n/\nParam1=value1&Param2=value2\n"));
        CHECK(sigv4::string_to_sign(kSuiteDate, "20150830/us-east-1/service/aws4_request",
                                    canonical.text) ==
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
              "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
        CHECK(header_value(request, "Authorization") ==
              suite_authorization("host;x-amz-date",
                                  "b97d918cfa904a5beff61c982a1b6f458b799221646e"
                                  "fd99d3219ec94cdf2500"));
    }
    SECTION("post-vanilla") {
        const auto request = suite_signed("POST", "https://example.amazonaws.com/");
        CHECK(header_value(request, "Authorization") ==
              suite_authorization("host;x-amz-date",
                                  "5da7c1a2acd57cee7505fc6676e4e544621c30862966"
                                  "e37dddb68e92efbe5d6b"));
    }
    SECTION("post-x-www-form-urlencoded: a body and a signed content type") {
        const auto request =
            suite_signed("POST", "https://example.amazonaws.com/",
                         {"Content-Type: application/x-www-form-urlencoded"}, "Param1=value1");
        const auto canonical = sigv4::canonical_request(request);
        CHECK(canonical.text ==
              "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
              "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
              "content-type;host;x-amz-date\n"
              "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
        CHECK(sigv4::string_to_sign(kSuiteDate, "20150830/us-east-1/service/aws4_request",
                                    canonical.text)
                  .ends_with("\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"));
        CHECK(header_value(request, "Authorization") ==
              suite_authorization(
                  "content-type;host;x-amz-date",
                  "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
    }
    SECTION("get-vanilla-query-order-encoded: the canonical query") {
        CHECK(sigv4::canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1") ==
              "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
    }
}

TEST_CASE("sigv4: encoding, hosts and session tokens", "[sigv4]") {
    CHECK(sigv4::uri_encode("-._~azAZ09") == "-._~azAZ09");
    CHECK(sigv4::uri_encode("a b/c+d=\"*") == "a%20b%2Fc%2Bd%3D%22%2A");
    CHECK(sigv4::canonical_query("name=_acme-challenge.example.org.&type=TXT&maxitems=1") ==
          "maxitems=1&name=_acme-challenge.example.org.&type=TXT");
    CHECK(sigv4::canonical_query("b=&a&&a=%7e") == "a=&a=~&b=");
    CHECK(sigv4::amz_date(core::TimePoint(std::chrono::seconds(1440938160))) == kSuiteDate);

    // The default port is not part of Host; any other port is.
    CHECK(header_value(suite_signed("GET", "https://Example.amazonaws.com:443/x"), "Host") ==
          "example.amazonaws.com");
    CHECK(header_value(suite_signed("GET", "http://127.0.0.1:8080"), "Host") == "127.0.0.1:8080");

    // A session token is sent and signed; signing again replaces the old date
    // and signature instead of adding a second one.
    AwsCredentials keys = kSuiteKeys;
    keys.session_token = "token/with+chars";
    core::HttpRequest request{"GET", "https://route53.amazonaws.com/2013-04-01/hostedzone", {}, ""};
    sigv4::sign_request(request, keys, "us-east-1", "route53", kSuiteDate);
    sigv4::sign_request(request, keys, "us-east-1", "route53", kSuiteDate);
    CHECK(request.headers.size() == 4);
    CHECK(header_value(request, "X-Amz-Security-Token") == "token/with+chars");
    CHECK(header_value(request, "Authorization")
              .find("SignedHeaders=host;x-amz-date;x-amz-security-token,") != std::string::npos);
    CHECK(signature_problem(as_received(request), "AKIDEXAMPLE", kSuiteKeys.secret_access_key,
                            "us-east-1", "route53", false) == "");
    CHECK(signature_problem(as_received(request), "AKIDEXAMPLE", "other", "us-east-1", "route53",
                            false) != "");
}

namespace {

const std::string kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::size_t discard(char*, std::size_t size, std::size_t count, void*) {
    return size * count;
}

// One request signed by libcurl itself; the answer's status.
long curl_signed_status(const std::string& url, const std::string& body,
                        const std::string& key_and_secret) {
    CURL* curl = curl_easy_init();
    REQUIRE(curl);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/xml");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:route53");
    curl_easy_setopt(curl, CURLOPT_USERPWD, key_and_secret.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
    if (!body.empty()) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    REQUIRE(rc == CURLE_OK);
    return status;
}

}  // namespace

TEST_CASE("sigv4: the test verifier takes libcurl's signatures and nothing altered", "[sigv4]") {
    FakeApiServer server([](const ApiRequest& r) {
        const std::string problem =
            signature_problem(r, "AKIDEXAMPLE", kSecret, "us-east-1", "route53", true);
        return problem.empty() ? ApiResponse{200, "signed", {}, "text/plain"}
                               : ApiResponse{403, problem, {}, "text/plain"};
    });
    const std::string body =
        "<?xml version=\"1.0\"?><ChangeResourceRecordSetsRequest/>\n\"quoted\" & more";
    CHECK(curl_signed_status(server.url("/2013-04-01/hostedzone?maxitems=100"), "",
                             "AKIDEXAMPLE:" + kSecret) == 200);
    CHECK(curl_signed_status(server.url("/2013-04-01/hostedzone/Z1/rrset/"), body,
                             "AKIDEXAMPLE:" + kSecret) == 200);
    CHECK(curl_signed_status(server.url("/2013-04-01/hostedzone/Z1/rrset/"), body,
                             "AKIDEXAMPLE:" + kSecret + "x") == 403);
    CHECK(curl_signed_status(server.url("/2013-04-01/hostedzone/Z1/rrset/"), body,
                             "AKIDOTHER:" + kSecret) == 403);

    const ApiRequest posted = server.requests().at(1);
    REQUIRE(posted.body == body);
    CHECK(signature_problem(posted, "AKIDEXAMPLE", kSecret, "us-east-1", "route53", true) == "");
    CHECK(signature_problem(posted, "AKIDEXAMPLE", kSecret + "x", "us-east-1", "route53", true) !=
          "");
    CHECK(signature_problem(posted, "AKIDEXAMPLE", kSecret, "eu-west-1", "route53", true) != "");
    for (std::size_t at : {std::size_t{0}, body.size() / 2, body.size() - 1}) {
        ApiRequest altered = posted;
        altered.body[at] = static_cast<char>(altered.body[at] ^ 1);
        CHECK(signature_problem(altered, "AKIDEXAMPLE", kSecret, "us-east-1", "route53", true) !=
              "");
    }
    ApiRequest other_path = posted;
    other_path.path = "/2013-04-01/hostedzone/Z2/rrset/";
    CHECK(signature_problem(other_path, "AKIDEXAMPLE", kSecret, "us-east-1", "route53", true) !=
          "");
    ApiRequest other_method = posted;
    other_method.method = "PUT";
    CHECK(signature_problem(other_method, "AKIDEXAMPLE", kSecret, "us-east-1", "route53", true) !=
          "");
    const ApiRequest listed = server.requests().at(0);
    ApiRequest other_query = listed;
    other_query.query = "maxitems=101";
    CHECK(signature_problem(listed, "AKIDEXAMPLE", kSecret, "us-east-1", "route53", true) == "");
    CHECK(signature_problem(other_query, "AKIDEXAMPLE", kSecret, "us-east-1", "route53", true) !=
          "");

    // certfleet's signer, through certfleet's HTTP client, passes the same check.
    core::CurlHttpClient http(core::HttpOptions{});
    core::HttpRequest request{"POST",
                              server.url("/2013-04-01/hostedzone/Z1/rrset/?a=b%2Fc"),
                              {"Content-Type: application/xml"},
                              body};
    sigv4::sign_request(request, {"AKIDEXAMPLE", kSecret, ""}, "us-east-1", "route53",
                        sigv4::amz_date(core::SystemClock().now()));
    auto answer = http.send(request);
    REQUIRE(answer);
    CHECK(answer->body == "signed");
}
