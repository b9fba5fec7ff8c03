// The sysctl journal: the value each sysctl held before ndpsync first changed it, in this boot,
// so that a purge (`ndpsync cleanup --purge`, the package's postrm) can put the host back as it
// was found. It lives in a file in the state directory (docs/operations.md, "Removal"):
//
//   # ndpsync: ... (comments)
//   boot 6b1d...                        the boot it belongs to (/proc/sys/kernel/random/boot_id)
//   conf/all/forwarding 0 1             path under /proc/sys/net/ipv6, value found, value set
//
// in the order of the first writes. The kernel forgets every sysctl at a reboot, so a journal of
// another boot holds nothing true any more and reads as empty.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ndpsync/sysctl_port.hpp"

namespace ndpsync {

struct JournalEntry {
  SysctlKey key;
  std::string found;  // before our first write
  std::string set;    // our last write
};

class SysctlJournal {
 public:
  explicit SysctlJournal(std::string boot_id) : boot_id_(std::move(boot_id)) {}

  // A journal file's text. Another boot's reads as empty; malformed text is an error that names
  // the line.
  static Result<SysctlJournal> parse(std::string_view text, std::string boot_id);

  // We are about to write `set` where `found` is: record it. The first found value stays; the
  // set value follows our writes. True when the journal changed (and must be saved first).
  bool note(const SysctlKey& key, const std::string& found, const std::string& set);

  [[nodiscard]] std::string text() const;
  [[nodiscard]] const std::vector<JournalEntry>& entries() const { return entries_; }
  [[nodiscard]] const std::string& boot_id() const { return boot_id_; }
  // The boot of the file parse() read, when it was another one (its entries were dropped).
  [[nodiscard]] const std::optional<std::string>& stale_boot() const { return stale_boot_; }

 private:
  std::string boot_id_;
  std::vector<JournalEntry> entries_;
  std::optional<std::string> stale_boot_;
};

// Where the journal is kept: a file in production (kernel adapter), memory in unit tests.
class JournalStore {
 public:
  virtual ~JournalStore() = default;
  // The stored text; empty when there is none yet.
  virtual Result<std::string> load() = 0;
  // Replaces it whole (atomically, in the file store).
  virtual Status save(const std::string& text) = 0;
  virtual Status erase() = 0;
  [[nodiscard]] virtual std::string where() const = 0;
};

// A SysctlPort that records a key's value in the journal before its first write changes it.
// A write whose record cannot be saved is not made: ndpsync never changes what it could not
// put back.
class JournaledSysctls final : public SysctlPort {
 public:
  JournaledSysctls(SysctlPort& inner, JournalStore& store, SysctlJournal journal)
      : inner_(inner), store_(store), journal_(std::move(journal)) {}

  Result<std::string> read_sysctl(const SysctlKey& key) override { return inner_.read_sysctl(key); }
  Status write_sysctl(const SysctlKey& key, const std::string& value) override;

 private:
  SysctlPort& inner_;
  JournalStore& store_;
  SysctlJournal journal_;
};

// What a purge does with one journal entry, last write first.
struct RestoreStep {
  enum class Action : std::uint8_t {
    kRestored,      // it held our value: the found one is back
    kAlready,       // it holds the found value again
    kChangedSince,  // someone else set another value since: left alone
    kGone,          // the interface is gone (its sysctls went with it)
    kFailed,        // the write failed (status)
  };
  JournalEntry entry;
  std::string now;  // the value before the purge
  Action action = Action::kAlready;
  Status status;

  [[nodiscard]] std::string text() const;  // one line for the operator
};

enum class RestoreMode : std::uint8_t { kWrite, kDryRun };

// Puts back every entry that still holds the value we set, in reverse order of the first writes
// (forwarding off before accept_ra goes back, so that the RA default route survives).
std::vector<RestoreStep> restore_sysctls(SysctlPort& kernel, const SysctlJournal& journal,
                                         RestoreMode mode);

}  // namespace ndpsync
