// AWS credentials, and the standard chain that finds them when the
// inventory names no key files: the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials) at profile
// AWS_PROFILE or "default". Only static keys: profiles that assume a role,
// use SSO or run a credential_process are refused with a message saying so.
#pragma once

#include <map>
#include <string>

#include "core/result.hpp"

namespace certfleet::acme::dns {

struct AwsCredentials {
    std::string access_key_id;
    std::string secret_access_key;  // never logged
    std::string session_token;      // temporary credentials (STS); may be empty
};

// Where the chain looks: the environment as a map, so tests need not touch
// the process's own.
struct AwsCredentialSources {
    // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
    // AWS_SHARED_CREDENTIALS_FILE and HOME; an empty value counts as unset.
    std::map<std::string, std::string> environment;
    // The inventory's aws_profile. Set: that profile of the file, whatever
    // the environment's keys and AWS_PROFILE say (as the AWS CLI's --profile).
    std::string profile;
};

// The variables above from this process's environment.
AwsCredentialSources aws_sources_from_environment(std::string profile = {});

// The shared credentials file the chain reads.
std::string aws_credentials_file(const AwsCredentialSources& sources);

// The first credentials of the chain. Failures are ErrorKind::Config and name
// the variable, file and profile concerned, never a key.
core::Result<AwsCredentials> resolve_aws_credentials(const AwsCredentialSources& sources);

}  // namespace certfleet::acme::dns
