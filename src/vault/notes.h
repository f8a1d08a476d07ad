#pragma once
// Free-text notes about a patient, sealed with the patient's DEK (field group `notes`, the note id
// bound in the associated data). The categories found by the classifier are stored beside the
// envelope as a bit mask so that restricted notes can be filtered without decrypting them.
// Thread-safety: thread-safe.
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "store/store.h"
#include "vault/keyring.h"

namespace medvault::vault {

struct Note {
  std::string id;
  std::string patient_id;
  std::string author_login;
  std::string text;
  uint32_t category_mask = 0;
  uint32_t qualifier_mask = 0;
  UnixMicros created = 0;
};

class Notes {
 public:
  Notes(store::DataStore& data, Keyring& keyring, const Clock& clock, Random& random);

  // NotFound if the patient is not in the practice. InvalidArgument for empty text or text over
  // 64 KiB or invalid UTF-8 ("content[0].attachment.data: ...").
  Result<Note> Create(const std::string& practice_id, Note note);
  // Notes of a patient, oldest first, decrypted.
  Result<std::vector<Note>> List(const std::string& practice_id, const std::string& patient_id);
  Result<Note> Get(const std::string& practice_id, const std::string& note_id);
  // Decrypts a stored row (as ForEachNote hands them over). Errors: those of the patient's DEK
  // (NotFound once the patient is crypto-shredded) and of a tampered envelope.
  Result<Note> OpenRow(const store::NoteRow& row);

 private:

  store::DataStore& data_;
  Keyring& keyring_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace medvault::vault
