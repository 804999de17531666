// Files holding secrets that other users can reach, and the warning about
// them: one wording everywhere, and never lost under -q.
#pragma once

#include <string>
#include <sys/types.h>

namespace certfleet::core {

// The logger security_warning() writes to; the CLI registers it beside the
// default one (same sink and format) with a level that -q does not raise.
inline constexpr const char* kSecurityLogger = "certfleet-security";

// "'PATH' (mode 0644) is readable by every user; chmod 600 'PATH'", or ""
// when neither group nor others may read or write the file.
std::string exposed_secret_file(const std::string& path, mode_t mode);

// A warning about exposed secrets. It goes to stderr even under -q: a key
// others can read is a problem now, and cron mails only what -q prints.
void security_warning(const std::string& message);

}  // namespace certfleet::core
