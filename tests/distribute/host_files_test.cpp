// group_id_in: the gid of a group in a host's /etc/group text.
#include "distribute/host_files.hpp"

#include <string>

#include <catch2/catch.hpp>

using certfleet::distribute::effective_uid_in;
using certfleet::distribute::group_id_in;

TEST_CASE("group_id_in finds a group's gid in /etc/group text", "[host_files]") {
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

TEST_CASE("effective_uid_in reads the effective uid of /proc/self/status", "[host_files]") {
    CHECK(effective_uid_in("Name:\tsshd\nUid:\t1000\t1001\t1001\t1001\nGid:\t5\n") == 1001u);
    CHECK(effective_uid_in("Uid:\t0\t0\t0\t0\n") == 0u);
    CHECK_FALSE(effective_uid_in("Name:\tx\nGid:\t0\t0\n"));
    CHECK_FALSE(effective_uid_in("Uid:\t1000\n"));  // no effective uid
    CHECK_FALSE(effective_uid_in("Uid:\tx\t0\n"));
    CHECK_FALSE(effective_uid_in("Uid:\t0\t99999999999\n"));
    CHECK_FALSE(effective_uid_in("XUid:\t0\t0\n"));
    CHECK_FALSE(effective_uid_in(""));
}
