// group_id_in: the gid of a group in a host's /etc/group text.
#include "distribute/group_file.hpp"

#include <string>

#include <catch2/catch.hpp>

using certfleet::distribute::group_id_in;

TEST_CASE("group_id_in finds a group's gid in /etc/group text", "[group_file]") {
    const std::string text =
        "root:x:0:\n"
        "# a comment\n"
        "+nisgroup::77:\n"
        "ssl-cert:x:111:postgres,www-data\n"
        "nginx:x:998:\n"
        "broken-line\n"
        "bad-gid:x:12a:\n"
        "huge:x:99999999999:\n"
        "last:x:4242:";  // no final newline
    CHECK(group_id_in(text, "root") == 0u);
    CHECK(group_id_in(text, "ssl-cert") == 111u);
    CHECK(group_id_in(text, "nginx") == 998u);
    CHECK(group_id_in(text, "last") == 4242u);
    CHECK_FALSE(group_id_in(text, "ssl"));       // a prefix is not a name
    CHECK_FALSE(group_id_in(text, "nisgroup"));  // NIS compat entries are not groups
    CHECK_FALSE(group_id_in(text, "broken-line"));
    CHECK_FALSE(group_id_in(text, "bad-gid"));
    CHECK_FALSE(group_id_in(text, "huge"));  // out of range
    CHECK_FALSE(group_id_in(text, "x:0"));   // a name with ':' cannot match a field
    CHECK_FALSE(group_id_in(text, ""));
    CHECK_FALSE(group_id_in("", "root"));
}
