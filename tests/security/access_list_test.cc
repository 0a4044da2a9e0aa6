// The clients file: what parses, what each right allows, and the exact
// error for each mistake an operator can make.
#include "worker/access_list.h"

#include <gtest/gtest.h>

#include <string>

#include "worker/worker.h"

namespace wallet {
namespace {

constexpr std::string_view kKeyA = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
constexpr std::string_view kKeyB = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

std::unique_ptr<AccessList> Parse(const std::string& text,
                                  std::string* error_out = nullptr) {
  std::string error;
  std::unique_ptr<AccessList> list = AccessList::Parse(text, "clients", error);
  if (error_out != nullptr) *error_out = error;
  return list;
}

std::string Line(std::string_view name, std::string_view key,
                 std::string_view rights) {
  return std::string(name) + " " + std::string(key) + " " +
         std::string(rights) + "\n";
}

TEST(AccessListParse, ReadsNamesKeysAndRights) {
  const std::string text = "# name key rights\n\n" +
                           Line("game1-eu", kKeyA, "send=game1,game1-eu") +
                           "  " + Line("analytics", kKeyB, "subscribe query");
  std::string error;
  const auto list = Parse(text, &error);
  ASSERT_NE(list, nullptr) << error;
  EXPECT_EQ(list->size(), 2u);

  const ClientRights* game = list->FindByKey(kKeyA);
  ASSERT_NE(game, nullptr);
  EXPECT_EQ(game->name, "game1-eu");
  EXPECT_TRUE(game->MaySendAs("game1"));
  EXPECT_TRUE(game->MaySendAs("game1-eu"));
  EXPECT_FALSE(game->MaySendAs("game2"));
  EXPECT_TRUE(game->MayUse(SocketRole::kCommands));
  EXPECT_FALSE(game->MayUse(SocketRole::kEvents));
  EXPECT_FALSE(game->MayUse(SocketRole::kQueries));

  const ClientRights* reader = list->FindByName("analytics");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->public_key, kKeyB);
  EXPECT_FALSE(reader->MayUse(SocketRole::kCommands));
  EXPECT_FALSE(reader->MaySendAs("game1"));
  EXPECT_TRUE(reader->MayUse(SocketRole::kEvents));
  EXPECT_TRUE(reader->MayUse(SocketRole::kQueries));

  EXPECT_EQ(list->FindByName("nobody"), nullptr);
  EXPECT_EQ(list->FindByKey(std::string(40, '0')), nullptr);
}

TEST(AccessListParse, SendStarAllowsEverySource) {
  const auto list = Parse(Line("ops", kKeyA, "send=*"));
  ASSERT_NE(list, nullptr);
  const ClientRights* ops = list->FindByName("ops");
  ASSERT_NE(ops, nullptr);
  EXPECT_TRUE(ops->MaySendAs("game1"));
  EXPECT_TRUE(ops->MaySendAs("anything-at-all"));
}

struct BadFile {
  const char* name;
  std::string text;
  std::string error;  // The error must contain this.
};

class AccessListRefuses : public ::testing::TestWithParam<BadFile> {};

TEST_P(AccessListRefuses, WithTheLineAndTheReason) {
  std::string error;
  EXPECT_EQ(Parse(GetParam().text, &error), nullptr);
  EXPECT_NE(error.find(GetParam().error), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, AccessListRefuses,
    ::testing::Values(
        BadFile{"empty", "# nothing\n\n", "clients: lists no client"},
        BadFile{"no_rights", std::string("game1 ") + std::string(kKeyA) + "\n",
                "clients:1: want: NAME PUBLIC-KEY RIGHT"},
        BadFile{"short_key", Line("game1", kKeyA.substr(1), "send=game1"),
                "clients:1: '" + std::string(kKeyA.substr(1)) +
                    "' is not a 40-character Z85 public key"},
        BadFile{"space_in_name", Line("game one", kKeyA, "send=game1"),
                "clients:1: 'one' is not a 40-character Z85 public key"},
        BadFile{"name_charset", Line("game/1", kKeyA, "send=game1"),
                "clients:1: name 'game/1' must be"},
        BadFile{"unknown_right", Line("game1", kKeyA, "admin"),
                "clients:1: unknown right 'admin'"},
        BadFile{"bad_source", Line("game1", kKeyA, "send=game1,,game2"),
                "clients:1: '' is not a source"},
        BadFile{"send_twice", Line("game1", kKeyA, "send=a send=b"),
                "clients:1: send= given twice"},
        BadFile{"repeated_name",
                "\n" + Line("game1", kKeyA, "send=a") +
                    Line("game1", kKeyB, "send=b"),
                "clients:3: client game1 repeats the name of line 2"},
        BadFile{"repeated_key",
                Line("game1", kKeyA, "send=a") + Line("game2", kKeyA, "query"),
                "clients:2: client game2 repeats the public key of line 1"}),
    [](const ::testing::TestParamInfo<BadFile>& row) {
      return std::string(row.param.name);
    });

struct EndpointCase {
  const char* name;
  const char* endpoint;
  bool loopback;
};

class LoopbackEndpoint : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(LoopbackEndpoint, IsRecognised) {
  EXPECT_EQ(IsLoopbackEndpoint(GetParam().endpoint), GetParam().loopback)
      << GetParam().endpoint;
}

INSTANTIATE_TEST_SUITE_P(
    Table, LoopbackEndpoint,
    ::testing::Values(
        EndpointCase{"ipv4_loopback", "tcp://127.0.0.1:5555", true},
        EndpointCase{"ipv4_loopback_net", "tcp://127.1.2.3:*", true},
        EndpointCase{"localhost", "tcp://localhost:5555", true},
        EndpointCase{"ipv6_loopback", "tcp://[::1]:5555", true},
        EndpointCase{"lo_interface", "tcp://lo:5555", true},
        EndpointCase{"ipc", "ipc:///run/wallet/commands", true},
        EndpointCase{"inproc", "inproc://commands", true},
        EndpointCase{"every_interface", "tcp://*:5555", false},
        EndpointCase{"ipv4_any", "tcp://0.0.0.0:5555", false},
        EndpointCase{"private_address", "tcp://10.0.0.5:5555", false},
        EndpointCase{"eth0_interface", "tcp://eth0:5555", false},
        EndpointCase{"ipv6_any", "tcp://[::]:5555", false},
        EndpointCase{"host_name", "tcp://wallet.example:5555", false},
        EndpointCase{"other_transport", "udp://127.0.0.1:5555", false}),
    [](const ::testing::TestParamInfo<EndpointCase>& row) {
      return std::string(row.param.name);
    });

}  // namespace
}  // namespace wallet
