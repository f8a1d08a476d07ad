#include "core/utf8.h"
#include "vault/notes.h"

#include "core/ids.h"
#include "crypto/envelope.h"

namespace medvault::vault {
namespace {

constexpr size_t kMaxNoteBytes = 64 * 1024;

crypto::EnvelopeContext NoteContext(const std::string& practice_id, const std::string& patient_id,
                                    const std::string& note_id) {
  return crypto::EnvelopeContext{practice_id, patient_id, FieldGroup::kNotes, 1, note_id};
}

}  // namespace

Notes::Notes(store::DataStore& data, Keyring& keyring, const Clock& clock, Random& random)
    : data_(data), keyring_(keyring), clock_(clock), random_(random) {}

Result<Note> Notes::Create(const std::string& practice_id, Note note) {
  if (note.text.empty()) return InvalidArgument("content[0].attachment.data: empty note");
  if (note.text.size() > kMaxNoteBytes) {
    return InvalidArgument("content[0].attachment.data: note longer than 64 KiB");
  }
  if (!IsValidUtf8(note.text)) {
    return InvalidArgument("content[0].attachment.data: not valid UTF-8");
  }
  MV_RETURN_IF_ERROR(data_.GetPatient(practice_id, note.patient_id).status());
  MV_ASSIGN_OR_RETURN(auto dek, keyring_.PatientDek(practice_id, note.patient_id));
  note.id = NewId(random_);
  note.created = clock_.Now();
  store::NoteRow row;
  row.id = note.id;
  row.practice_id = practice_id;
  row.patient_id = note.patient_id;
  row.author_login = note.author_login;
  row.category_mask = note.category_mask;
  row.qualifier_mask = note.qualifier_mask;
  row.created = note.created;
  row.sealed_text = crypto::SealEnvelope(*dek, NoteContext(practice_id, note.patient_id, note.id),
                                         AsBytes(note.text), random_);
  MV_RETURN_IF_ERROR(data_.CreateNote(row));
  return note;
}

Result<Note> Notes::OpenRow(const store::NoteRow& row) {
  MV_ASSIGN_OR_RETURN(auto dek, keyring_.PatientDek(row.practice_id, row.patient_id));
  MV_ASSIGN_OR_RETURN(Bytes plain,
                      crypto::OpenEnvelope(*dek, NoteContext(row.practice_id, row.patient_id,
                                                             row.id),
                                           row.sealed_text));
  Note note;
  note.id = row.id;
  note.patient_id = row.patient_id;
  note.author_login = row.author_login;
  note.text.assign(AsChars(plain));
  note.category_mask = row.category_mask;
  note.qualifier_mask = row.qualifier_mask;
  note.created = row.created;
  return note;
}

Result<std::vector<Note>> Notes::List(const std::string& practice_id,
                                      const std::string& patient_id) {
  MV_ASSIGN_OR_RETURN(auto rows, data_.ListNotes(practice_id, patient_id));
  std::vector<Note> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    MV_ASSIGN_OR_RETURN(Note n, OpenRow(row));
    out.push_back(std::move(n));
  }
  return out;
}

Result<Note> Notes::Get(const std::string& practice_id, const std::string& note_id) {
  MV_ASSIGN_OR_RETURN(auto row, data_.GetNote(practice_id, note_id));
  return OpenRow(row);
}

}  // namespace medvault::vault
