// The AWS credential chain (acme/dns/aws_credentials.hpp) over a given
// environment and a temporary credentials file: the process's own
// environment and ~/.aws are never read.
#include "acme/dns/aws_credentials.hpp"

#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "support/temp_files.hpp"

using namespace certfleet;
using namespace certfleet::acme::dns;
using certfleet::testing::TempDir;

namespace {

const std::string kFile = R"(# written by aws configure
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default/secret+key

; a comment, then a profile with a session token and odd spacing
[ dns ]
AWS_Access_Key_Id=ASIADNS
  aws_secret_access_key   =   dns-secret
aws_session_token = dns-token
region = eu-west-1

[sso-only]
sso_start_url = https://example.awsapps.com/start
[half]
aws_access_key_id = AKIAHALF
)";

AwsCredentialSources sources(std::map<std::string, std::string> environment,
                             std::string profile = {}) {
    return {std::move(environment), std::move(profile)};
}

bool mentions(const core::Error& error, const std::string& text) {
    return error.describe().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("aws credentials: the environment comes first", "[aws]") {
    TempDir dir;
    REQUIRE(core::write_file_atomic(dir / "credentials", kFile));
    auto keys =
        resolve_aws_credentials(sources({{"AWS_ACCESS_KEY_ID", "AKIAENV"},
                                         {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                         {"AWS_SESSION_TOKEN", "env-token"},
                                         {"AWS_PROFILE", "dns"},
                                         {"AWS_SHARED_CREDENTIALS_FILE", dir / "credentials"}}));
    REQUIRE(keys);
    CHECK(keys->access_key_id == "AKIAENV");
    CHECK(keys->secret_access_key == "env-secret");
    CHECK(keys->session_token == "env-token");

    // One of the pair alone is a mistake, not a reason to read the file.
    auto half = resolve_aws_credentials(sources(
        {{"AWS_ACCESS_KEY_ID", "AKIAENV"}, {"AWS_SHARED_CREDENTIALS_FILE", dir / "credentials"}}));
    REQUIRE_FALSE(half);
    CHECK(half.error().kind == core::ErrorKind::Config);
    CHECK(mentions(half.error(), "AWS_SECRET_ACCESS_KEY is not"));

    // A profile the inventory names wins over the environment's keys.
    auto named =
        resolve_aws_credentials(sources({{"AWS_ACCESS_KEY_ID", "AKIAENV"},
                                         {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                         {"AWS_SHARED_CREDENTIALS_FILE", dir / "credentials"}},
                                        "dns"));
    REQUIRE(named);
    CHECK(named->access_key_id == "ASIADNS");
}

TEST_CASE("aws credentials: the shared file, its profiles and comments", "[aws]") {
    TempDir dir;
    REQUIRE(core::make_dirs(dir / ".aws"));
    REQUIRE(core::write_file_atomic(dir / ".aws/credentials", kFile));

    // $HOME/.aws/credentials, profile "default".
    auto keys = resolve_aws_credentials(sources({{"HOME", dir.path}}));
    REQUIRE(keys);
    CHECK(keys->access_key_id == "AKIADEFAULT");
    CHECK(keys->secret_access_key == "default/secret+key");
    CHECK(keys->session_token.empty());

    // AWS_PROFILE, keys in any case, blanks around '=' and the section name.
    keys = resolve_aws_credentials(sources({{"HOME", dir.path}, {"AWS_PROFILE", "dns"}}));
    REQUIRE(keys);
    CHECK(keys->access_key_id == "ASIADNS");
    CHECK(keys->secret_access_key == "dns-secret");
    CHECK(keys->session_token == "dns-token");

    // AWS_SHARED_CREDENTIALS_FILE instead of $HOME's.
    REQUIRE(core::write_file_atomic(dir / "other",
                                    "[default]\naws_access_key_id=AKIAOTHER\n"
                                    "aws_secret_access_key=other\n"));
    keys = resolve_aws_credentials(
        sources({{"HOME", dir.path}, {"AWS_SHARED_CREDENTIALS_FILE", dir / "other"}}));
    REQUIRE(keys);
    CHECK(keys->access_key_id == "AKIAOTHER");
    CHECK(aws_credentials_file(sources({{"HOME", "/home/x"}})) == "/home/x/.aws/credentials");
}

TEST_CASE("aws credentials: failures name the file and profile, never a key", "[aws]") {
    TempDir dir;
    const std::string file = dir / "credentials";
    REQUIRE(core::write_file_atomic(file, kFile));

    auto missing = resolve_aws_credentials(
        sources({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "prod"}}));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == core::ErrorKind::Config);
    CHECK(mentions(missing.error(), "profile 'prod' not found in " + file));

    for (const std::string profile : {"sso-only", "half"}) {
        auto refused =
            resolve_aws_credentials(sources({{"AWS_SHARED_CREDENTIALS_FILE", file}}, profile));
        REQUIRE_FALSE(refused);
        CHECK(mentions(refused.error(), "profile '" + profile + "' in " + file + " has no"));
        CHECK(mentions(refused.error(), "credential_process"));
        CHECK_FALSE(mentions(refused.error(), "AKIAHALF"));
    }

    auto no_file = resolve_aws_credentials(sources({{"HOME", dir / "nowhere"}}));
    REQUIRE_FALSE(no_file);
    CHECK(mentions(no_file.error(), dir / "nowhere/.aws/credentials does not exist"));
    CHECK(mentions(no_file.error(), "profile 'default'"));

    auto nothing = resolve_aws_credentials(sources({}));
    REQUIRE_FALSE(nothing);
    CHECK(mentions(nothing.error(), "neither AWS_SHARED_CREDENTIALS_FILE nor HOME"));

    for (const auto* error : {&missing.error(), &no_file.error(), &nothing.error()})
        for (const char* secret : {"default/secret+key", "dns-secret", "dns-token", "AKIAHALF"})
            CHECK_FALSE(mentions(*error, secret));
}
