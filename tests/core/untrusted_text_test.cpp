#include "core/untrusted_text.hpp"

#include <catch2/catch.hpp>

using certfleet::core::json_text;
using certfleet::core::terminal_safe;

TEST_CASE("terminal_safe keeps text, newlines, tabs and UTF-8", "[untrusted_text]") {
    CHECK(terminal_safe("nginx: [emerg] line 1\n\tline 2") == "nginx: [emerg] line 1\n\tline 2");
    CHECK(terminal_safe("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x94\x92") ==
          "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x94\x92");
}

TEST_CASE("terminal_safe removes what could drive a terminal", "[untrusted_text]") {
    // ESC [2J clears the screen; OSC 52 writes the clipboard; CR hides what precedes it.
    CHECK(terminal_safe("a\x1B[2Jb") == "a?[2Jb");
    CHECK(terminal_safe("\x1B]52;c;ZXZpbA==\x07") == "?]52;c;ZXZpbA==?");
    CHECK(terminal_safe("ok\rFAIL") == "ok?FAIL");
    CHECK(terminal_safe(std::string("nul\0byte", 8)) == "nul?byte");
    CHECK(terminal_safe("del\x7F") == "del?");
    CHECK(terminal_safe("c1 csi \xC2\x9B"
                        "31m") == "c1 csi ?31m");
}

TEST_CASE("terminal_safe replaces malformed UTF-8 byte by byte", "[untrusted_text]") {
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(terminal_safe("\xFF") == fffd);
    CHECK(terminal_safe("a\xC3") == "a" + fffd);                            // truncated
    CHECK(terminal_safe("\xC0\xAF") == fffd + fffd);                        // overlong '/'
    CHECK(terminal_safe("\xED\xA0\x80") == fffd + fffd + fffd);             // a surrogate
    CHECK(terminal_safe("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // above U+10FFFF
}

TEST_CASE("json_text encodes invalid UTF-8 instead of throwing", "[untrusted_text]") {
    nlohmann::json doc{{"path", "/etc/ssl/\xFF\xFE.pem"}, {"nonce", "abc\xC3"}};
    REQUIRE_THROWS(doc.dump());  // what it replaces
    const std::string text = json_text(doc);
    CHECK(text ==
          "{\"nonce\":\"abc\xEF\xBF\xBD\",\"path\":\"/etc/ssl/\xEF\xBF\xBD\xEF\xBF\xBD.pem\"}");
    CHECK_FALSE(nlohmann::json::parse(text).is_discarded());
    CHECK(json_text(nlohmann::json{{"esc", "\x1B[2J"}}, 2) == "{\n  \"esc\": \"\\u001b[2J\"\n}");
}
