// AccessList: the clients a CURVE-secured worker lets in, and what each may
// do. It is read once at start from a text file (docs/security.md), one
// client per line:
//
//   # name        public key (Z85, 40 characters)            rights
//   game1-eu-1    rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7   send=game1
//   subscribe analytics     Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID subscribe
//   query
//
// Rights: `send=S1,S2,...` (may push commands whose `source` is one of
// these; `send=*` any source), `subscribe` (may connect to the events
// socket), `query` (may connect to the query socket). A client without a
// right for a socket is refused at that socket's handshake.
//
// Immutable after Load, so any thread may read it without a lock.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wallet {

// The three sockets a client may be allowed on; also their ZAP domains.
enum class SocketRole { kCommands, kEvents, kQueries };
std::string_view SocketRoleName(SocketRole role);

// Clients one allow-list may name, at most.
inline constexpr std::size_t kAccessClientsMax = 100'000;
// Sources one client may send as, at most (or `*`).
inline constexpr std::size_t kAccessSourcesPerClientMax = 64;

struct ClientRights {
  std::string name;        // Same charset as a `source`; unique.
  std::string public_key;  // Z85; unique.
  std::vector<std::string> sources;
  bool any_source = false;  // `send=*`.
  bool subscribe = false;
  bool query = false;

  bool MaySend() const { return any_source || !sources.empty(); }
  bool MaySendAs(std::string_view source) const;
  bool MayUse(SocketRole role) const;
};

class AccessList {
 public:
  // Reads and checks the whole file; null with `error` (file:line: what)
  // on the first problem, so that a typo never starts a worker that lets
  // the wrong client in.
  static std::unique_ptr<AccessList> Load(const std::string& path,
                                          std::string& error);
  // Parses file text; `origin` names it in errors.
  static std::unique_ptr<AccessList> Parse(std::string_view text,
                                           std::string_view origin,
                                           std::string& error);

  // Null when the key (Z85) or name is not listed.
  const ClientRights* FindByKey(std::string_view public_key) const;
  const ClientRights* FindByName(std::string_view name) const;
  std::size_t size() const { return clients_.size(); }

 private:
  AccessList() = default;

  std::vector<ClientRights> clients_;
  std::unordered_map<std::string_view, std::size_t> by_key_;
  std::unordered_map<std::string_view, std::size_t> by_name_;
};

}  // namespace wallet
