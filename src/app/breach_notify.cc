#include "app/breach_notify.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/audit_wiring.h"
#include "app/command_status.h"
#include "app/log_writer_lock.h"
#include "app/vault_context.h"
#include "audit/access_log.h"
#include "core/file.h"
#include "notes/category.h"
#include "store/sqlite/sqlite_log_store.h"

namespace medvault::app {
namespace {

constexpr const char* kToComplete = "[à compléter]";
constexpr const char* kCnilComplaint =
    "CNIL, 3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07, ou en ligne sur "
    "www.cnil.fr/plaintes";

std::string EscapeHtml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Writes one document as plain text and as HTML at once; every value goes through EscapeHtml.
class DocWriter {
 public:
  explicit DocWriter(const std::string& title) {
    text_ = title + "\n" + std::string(title.size() < 80 ? Width(title) : 80, '=') + "\n";
    html_ = "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\"><title>" +
            EscapeHtml(title) + "</title></head>\n<body>\n<h1>" + EscapeHtml(title) + "</h1>\n";
  }
  void Heading(const std::string& s) {
    text_ += "\n" + s + "\n" + std::string(Width(s), '-') + "\n";
    html_ += "<h2>" + EscapeHtml(s) + "</h2>\n";
  }
  void Para(const std::string& s) {
    text_ += s + "\n";
    html_ += "<p>" + EscapeHtml(s) + "</p>\n";
  }
  void Field(const std::string& label, const std::string& value) {
    text_ += label + " : " + value + "\n";
    html_ += "<p><strong>" + EscapeHtml(label) + "</strong> : " + EscapeHtml(value) + "</p>\n";
  }
  void List(const std::vector<std::string>& items) {
    html_ += "<ul>\n";
    for (const std::string& item : items) {
      text_ += "  - " + item + "\n";
      html_ += "<li>" + EscapeHtml(item) + "</li>\n";
    }
    html_ += "</ul>\n";
  }
  Document Finish() { return {text_, html_ + "</body>\n</html>\n"}; }

 private:
  // Characters, not bytes, for the underline.
  static size_t Width(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
    return n;
  }
  std::string text_;
  std::string html_;
};

std::string GroupInWords(FieldGroup g) {
  switch (g) {
    case FieldGroup::kIdentity:
      return "votre identité (nom, prénoms, date de naissance, sexe, lieu de naissance)";
    case FieldGroup::kContact:
      return "vos coordonnées (adresse postale, numéros de téléphone, adresse électronique)";
    case FieldGroup::kInsurance:
      return "votre numéro de sécurité sociale (NIR) et votre régime d'assurance maladie";
    case FieldGroup::kNotes:
      return "des notes écrites par un soignant dans votre dossier médical";
  }
  return "";
}

std::string GroupLabel(FieldGroup g) {
  switch (g) {
    case FieldGroup::kIdentity: return "identité (nom, prénoms, date et lieu de naissance, sexe)";
    case FieldGroup::kContact: return "coordonnées (adresse postale, téléphones, courriel)";
    case FieldGroup::kInsurance: return "NIR et régime d'assurance maladie";
    case FieldGroup::kNotes: return "notes médicales en texte libre (données de santé)";
  }
  return "";
}

std::string CategoryInWords(notes::Category c) {
  using notes::Category;
  switch (c) {
    case Category::kHivSti: return "le VIH ou une infection sexuellement transmissible";
    case Category::kMentalHealth: return "votre santé mentale";
    case Category::kAddiction: return "une addiction (alcool, tabac, drogues, jeux)";
    case Category::kSexualLife: return "votre vie sexuelle ou votre orientation sexuelle";
    case Category::kReproductive:
      return "la santé reproductive (grossesse, contraception, interruption de grossesse, "
             "fertilité)";
    case Category::kGenetic: return "des informations génétiques";
    case Category::kViolence: return "des violences subies";
    case Category::kReligion: return "vos convictions religieuses";
    case Category::kEthnicOrigin: return "votre origine ethnique";
    case Category::kPolitical: return "vos opinions politiques";
    case Category::kUnion: return "une appartenance syndicale";
    case Category::kOffence: return "des infractions ou condamnations pénales";
    case Category::kSubjective: return "des appréciations personnelles du rédacteur à votre sujet";
  }
  return "";
}

// Art. 9 GDPR (special categories) or art. 10 (offences), as the CNIL form asks.
std::string CategoryLabel(notes::Category c) {
  using notes::Category;
  const std::string article = c == Category::kOffence      ? " (art. 10 RGPD)"
                              : c == Category::kSubjective ? ""
                                                           : " (art. 9 RGPD)";
  switch (c) {
    case Category::kHivSti: return "VIH / IST" + article;
    case Category::kMentalHealth: return "santé mentale" + article;
    case Category::kAddiction: return "addictions" + article;
    case Category::kSexualLife: return "vie sexuelle ou orientation sexuelle" + article;
    case Category::kReproductive: return "santé reproductive" + article;
    case Category::kGenetic: return "données génétiques" + article;
    case Category::kViolence: return "violences subies" + article;
    case Category::kReligion: return "convictions religieuses" + article;
    case Category::kEthnicOrigin: return "origine ethnique" + article;
    case Category::kPolitical: return "opinions politiques" + article;
    case Category::kUnion: return "appartenance syndicale" + article;
    case Category::kOffence: return "infractions et condamnations" + article;
    case Category::kSubjective: return "appréciations subjectives du rédacteur";
  }
  return "";
}

std::vector<notes::Category> Categories(uint64_t mask) {
  std::vector<notes::Category> out;
  for (notes::Category c : notes::kAllCategories) {
    if ((mask >> notes::Index(c)) & 1u) out.push_back(c);
  }
  return out;
}

// "2027-01-15T08:00:00Z" → "15/01/2027 à 08:00 UTC".
std::string FrenchTime(const std::string& iso) {
  if (iso.size() < 16) return iso;
  return iso.substr(8, 2) + "/" + iso.substr(5, 2) + "/" + iso.substr(0, 4) + " à " +
         iso.substr(11, 5) + " UTC";
}

std::string ContactLine(const ControllerInfo& c) {
  std::string out = c.contact_name + ", " + c.contact_role;
  if (!c.contact_email.empty()) out += ", courriel : " + c.contact_email;
  if (!c.contact_phone.empty()) out += ", téléphone : " + c.contact_phone;
  if (!c.contact_address.empty()) out += ", adresse : " + c.contact_address;
  return out;
}

struct PracticeFacts {
  std::vector<const PatientExposure*> patients;
  std::vector<const AccountExposure*> accounts;
  size_t canaries = 0;
  int64_t records = 0;  // patient records released (sum of accesses)
  std::map<FieldGroup, int64_t> by_group;
  std::map<notes::Category, int64_t> by_category;
  UnixMicros first = INT64_MAX;
  UnixMicros last = INT64_MIN;
};

PracticeFacts FactsOf(const Scope& scope, const std::string& practice) {
  PracticeFacts f;
  for (const PatientExposure& p : scope.patients) {
    if (p.practice != practice) continue;
    f.patients.push_back(&p);
    f.records += p.accesses;
    for (FieldGroup g : kAllFieldGroups) f.by_group[g] += MaskHas(p.field_groups, g) ? 1 : 0;
    for (notes::Category c : Categories(p.note_categories)) ++f.by_category[c];
    f.first = std::min(f.first, p.first_access);
    f.last = std::max(f.last, p.last_access);
  }
  for (const PatientExposure& p : scope.canaries) f.canaries += p.practice == practice ? 1 : 0;
  for (const AccountExposure& a : scope.accounts) {
    if (a.practice == practice) f.accounts.push_back(&a);
  }
  return f;
}

std::vector<std::string> DefaultMeasuresTaken(const Scope& scope, const PracticeFacts& f) {
  std::vector<std::string> out = {
      "Périmètre établi à partir du journal d'accès de medvault, vérifié intégralement (arbre de " +
          std::to_string(scope.tree_size) + " entrées, racine " + Base64Encode(scope.root) +
          ") : la liste des personnes concernées est exacte, ni incomplète ni excessive.",
  };
  if (!f.accounts.empty()) {
    std::string logins;
    for (const AccountExposure* a : f.accounts) logins += (logins.empty() ? "" : ", ") + a->login;
    out.push_back("Comptes utilisés identifiés (" + logins +
                  ") ; leur verrouillage et la révocation de leurs sessions sont à confirmer "
                  "(medvault account unlock ne doit être utilisé qu'après réinitialisation).");
  }
  if (f.canaries > 0) {
    out.push_back(std::to_string(f.canaries) +
                  " dossier(s) leurre(s) consulté(s) : ils prouvent une extraction et servent à "
                  "attribuer une éventuelle fuite ; ils ne concernent aucune personne réelle.");
  }
  return out;
}

std::vector<std::string> DefaultMeasuresProposed() {
  return {
      "Réinitialiser les mots de passe et les seconds facteurs (TOTP) des comptes utilisés, "
      "après vérification de l'identité de leurs titulaires.",
      "Informer individuellement chaque personne concernée (art. 34 RGPD) : courriers joints.",
      "Surveiller la publication des données (comparaison de tout fichier divulgué avec "
      "medvault breach match) et signaler toute diffusion.",
      "Revoir les droits d'accès et les seuils de confinement du cabinet.",
  };
}

}  // namespace

Result<NotifyConfig> ParseNotifyConfig(std::string_view json_text) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("controller file: not a JSON object");
  NotifyConfig config;
  auto str = [](const nlohmann::json& o, const char* key, const std::string& where,
                std::string* out) -> Status {
    if (!o.contains(key)) return Status::Ok();
    if (!o[key].is_string()) return InvalidArgument(where + "." + key + ": expected a string");
    *out = o[key].get<std::string>();
    return Status::Ok();
  };
  auto list = [](const nlohmann::json& o, const char* key, const std::string& where,
                 std::vector<std::string>* out) -> Status {
    if (!o.contains(key)) return Status::Ok();
    if (!o[key].is_array()) return InvalidArgument(where + "." + key + ": expected an array");
    for (const auto& item : o[key]) {
      if (!item.is_string()) return InvalidArgument(where + "." + key + ": expected strings");
      out->push_back(item.get<std::string>());
    }
    return Status::Ok();
  };
  for (const auto& [key, value] : j.items()) {
    if (key == "incident") {
      if (!value.is_object()) return InvalidArgument("incident: expected an object");
      for (const auto& [k, v] : value.items()) {
        if (k != "discovered_at" && k != "cause" && k != "measures_taken" &&
            k != "measures_proposed") {
          return InvalidArgument("incident." + k + ": unknown key");
        }
      }
      MV_RETURN_IF_ERROR(str(value, "discovered_at", "incident", &config.incident.discovered_at));
      if (!config.incident.discovered_at.empty() &&
          !ParseIsoTime(config.incident.discovered_at).ok()) {
        return InvalidArgument("incident.discovered_at: not an ISO 8601 time");
      }
      MV_RETURN_IF_ERROR(str(value, "cause", "incident", &config.incident.cause));
      MV_RETURN_IF_ERROR(list(value, "measures_taken", "incident", &config.incident.measures_taken));
      MV_RETURN_IF_ERROR(
          list(value, "measures_proposed", "incident", &config.incident.measures_proposed));
      continue;
    }
    if (!value.is_object()) return InvalidArgument(key + ": expected an object");
    ControllerInfo c;
    for (const auto& [k, v] : value.items()) {
      static const char* kKeys[] = {"name",         "address",       "finess",
                                    "contact_name", "contact_role",  "contact_email",
                                    "contact_phone", "contact_address"};
      if (std::find(std::begin(kKeys), std::end(kKeys), k) == std::end(kKeys)) {
        return InvalidArgument(key + "." + k + ": unknown key");
      }
    }
    MV_RETURN_IF_ERROR(str(value, "name", key, &c.name));
    MV_RETURN_IF_ERROR(str(value, "address", key, &c.address));
    MV_RETURN_IF_ERROR(str(value, "finess", key, &c.finess));
    MV_RETURN_IF_ERROR(str(value, "contact_name", key, &c.contact_name));
    MV_RETURN_IF_ERROR(str(value, "contact_role", key, &c.contact_role));
    MV_RETURN_IF_ERROR(str(value, "contact_email", key, &c.contact_email));
    MV_RETURN_IF_ERROR(str(value, "contact_phone", key, &c.contact_phone));
    MV_RETURN_IF_ERROR(str(value, "contact_address", key, &c.contact_address));
    config.controllers[key] = std::move(c);
  }
  return config;
}

Document CnilNotification(const Scope& scope, const std::string& practice,
                          const ControllerInfo& controller, const IncidentInfo& incident,
                          const std::string& now) {
  const PracticeFacts f = FactsOf(scope, practice);
  DocWriter d("Notification d'une violation de données personnelles à la CNIL (article 33 du RGPD)");
  d.Para("Projet établi le " + FrenchTime(now) +
         " par medvault à partir du journal d'accès vérifié, à relire et à transmettre par le "
         "responsable de traitement sur le service de notification de la CNIL dans les 72 heures "
         "suivant la prise de connaissance de la violation.");

  d.Heading("1. Responsable de traitement");
  d.Field("Organisme", controller.name);
  d.Field("Identifiant dans medvault", practice);
  if (!controller.address.empty()) d.Field("Adresse", controller.address);
  if (!controller.finess.empty()) d.Field("FINESS", controller.finess);
  d.Field("Point de contact (article 33.3.b)", ContactLine(controller));

  d.Heading("2. Nature de la violation");
  d.Field("Type", "violation de la confidentialité (consultation et extraction non autorisées)");
  d.Field("Date de prise de connaissance",
          FrenchTime(incident.discovered_at.empty() ? now : incident.discovered_at));
  if (!f.patients.empty()) {
    d.Field("Période des accès", "du " + FrenchTime(FormatIsoTime(f.first)) + " au " +
                                     FrenchTime(FormatIsoTime(f.last)));
  }
  d.Field("Origine", incident.cause.empty()
                         ? "utilisation de comptes d'accès authentifiés à l'application de "
                           "dossiers patients pour consulter des dossiers sans lien avec une prise "
                           "en charge (identifiants vraisemblablement compromis)"
                         : incident.cause);
  std::vector<std::string> accounts;
  for (const AccountExposure* a : f.accounts) {
    accounts.push_back(a->login + " : " + std::to_string(a->requests) + " requêtes, " +
                       std::to_string(a->patients) + " dossiers distincts consultés");
  }
  if (!accounts.empty()) {
    d.Para("Comptes utilisés :");
    d.List(accounts);
  }
  if (!scope.source_ips.empty()) {
    std::string sources;
    for (const auto& s : scope.source_ips) sources += (sources.empty() ? "" : ", ") + s;
    d.Field("Adresses d'origine retenues", sources);
  }

  d.Heading("3. Personnes concernées");
  d.Field("Catégorie de personnes", "patients du cabinet");
  d.Field("Nombre de personnes concernées", std::to_string(f.patients.size()) + " (nombre exact)");
  d.Field("Nombre d'enregistrements concernés",
          std::to_string(f.records) + " dossiers patients transmis (nombre exact d'accès)");

  d.Heading("4. Catégories de données concernées");
  std::vector<std::string> groups;
  for (FieldGroup g : kAllFieldGroups) {
    const int64_t n = f.by_group.count(g) != 0 ? f.by_group.at(g) : 0;
    if (n > 0) groups.push_back(GroupLabel(g) + " : " + std::to_string(n) + " personnes");
  }
  d.List(groups.empty() ? std::vector<std::string>{"aucune donnée transmise"} : groups);
  if (!f.by_category.empty()) {
    d.Para("Catégories particulières révélées par les notes (données de santé, article 9 du "
           "RGPD ; article 10 pour les infractions) :");
    std::vector<std::string> categories;
    for (const auto& [c, n] : f.by_category) {
      categories.push_back(CategoryLabel(c) + " : " + std::to_string(n) + " personnes");
    }
    d.List(categories);
  }

  d.Heading("5. Conséquences probables pour les personnes");
  std::vector<std::string> consequences = {
      "Hameçonnage et escroqueries ciblées (courriels, SMS ou appels se faisant passer pour le "
      "cabinet, l'Assurance maladie ou une mutuelle), rendus crédibles par les données obtenues.",
      "Usurpation d'identité et démarchage non sollicité."};
  if (f.by_group.count(FieldGroup::kInsurance) != 0 && f.by_group.at(FieldGroup::kInsurance) > 0) {
    consequences.push_back("Utilisation frauduleuse du numéro de sécurité sociale.");
  }
  if (f.by_group.count(FieldGroup::kNotes) != 0 && f.by_group.at(FieldGroup::kNotes) > 0) {
    consequences.push_back("Atteinte à l'intimité de la vie privée par la divulgation de données "
                           "de santé ; risque de discrimination, de stigmatisation ou de chantage.");
  }
  d.List(consequences);

  d.Heading("6. Mesures prises et mesures proposées");
  d.Para("Mesures prises :");
  std::vector<std::string> taken = DefaultMeasuresTaken(scope, f);
  taken.insert(taken.end(), incident.measures_taken.begin(), incident.measures_taken.end());
  d.List(taken);
  d.Para("Mesures proposées pour remédier à la violation et en atténuer les conséquences :");
  std::vector<std::string> proposed =
      incident.measures_proposed.empty() ? DefaultMeasuresProposed() : incident.measures_proposed;
  d.List(proposed);

  d.Heading("7. Information des personnes concernées (article 34)");
  d.Para(std::to_string(f.patients.size()) +
         " courriers individuels en langage clair sont joints (dossier letters/), un par personne, "
         "chacun décrivant uniquement les données de cette personne, les conséquences probables, "
         "les précautions à prendre et le point de contact.");

  d.Heading("8. Preuve");
  d.Para("Le journal d'accès de medvault est un journal Merkle signé (RFC 6962) ; la liste des "
         "personnes concernées a été calculée après vérification intégrale du journal (taille " +
         std::to_string(scope.tree_size) + ", racine " + Base64Encode(scope.root) +
         "). Une preuve vérifiable hors ligne est produite par « medvault breach scope --evidence » "
         "et contrôlée par « medvault audit check-evidence ».");
  return d.Finish();
}

Document HealthIncidentReport(const Scope& scope, const std::string& practice,
                              const ControllerInfo& controller, const IncidentInfo& incident,
                              const std::string& now) {
  const PracticeFacts f = FactsOf(scope, practice);
  DocWriter d("Signalement d'un incident grave de sécurité des systèmes d'information de santé");
  d.Para("Éléments du formulaire de déclaration (article L.1111-8-2 et D.1111-16-2 du code de la "
         "santé publique, arrêté du 30 octobre 2017), à saisir sans délai sur le portail de "
         "signalement des événements sanitaires indésirables (transmis à l'ARS et au CERT Santé "
         "de l'Agence du numérique en santé). Projet établi le " + FrenchTime(now) + ".");

  d.Heading("1. Structure concernée et déclarant");
  d.Field("Structure", controller.name);
  if (!controller.finess.empty()) d.Field("Numéro FINESS", controller.finess);
  if (!controller.address.empty()) d.Field("Adresse", controller.address);
  d.Field("Déclarant", ContactLine(controller));

  d.Heading("2. Description de l'incident");
  d.Field("Date du constat",
          FrenchTime(incident.discovered_at.empty() ? now : incident.discovered_at));
  if (!f.patients.empty()) {
    d.Field("Date de début de l'incident", FrenchTime(FormatIsoTime(f.first)));
    d.Field("Dernier accès constaté", FrenchTime(FormatIsoTime(f.last)));
  }
  d.Field("Type d'incident", "atteinte à la confidentialité de données de santé");
  d.Field("Périmètre", std::to_string(f.accounts.size()) + " compte(s) utilisateur(s), " +
                           std::to_string(f.patients.size()) + " dossiers patients");
  d.Field("Systèmes d'information concernés", "logiciel de dossiers patients (medvault)");
  std::string data;
  for (FieldGroup g : kAllFieldGroups) {
    if (f.by_group.count(g) != 0 && f.by_group.at(g) > 0) {
      data += (data.empty() ? "" : " ; ") + GroupLabel(g);
    }
  }
  d.Field("Données concernées", data.empty() ? "aucune" : data);
  d.Field("État de la prise en charge",
          "périmètre établi à partir du journal d'accès vérifié ; comptes identifiés ; "
          "notifications à la CNIL et aux personnes préparées");

  d.Heading("3. Impacts");
  d.Field("Sur les données", "confidentialité atteinte pour " + std::to_string(f.patients.size()) +
                                 " patients ; intégrité du journal d'accès vérifiée");
  d.Field("Sur les personnes", std::to_string(f.patients.size()) + " patients exposés (" +
                                   std::to_string(f.by_category.size()) +
                                   " catégorie(s) de données sensibles dans les notes)");
  d.Field("Sur les systèmes d'information", "aucune indisponibilité causée par l'incident constatée "
                                            "dans le journal ; à compléter par la structure");
  d.Field("Sur la structure et la sécurité des soins", "à compléter par la structure");

  d.Heading("4. Causes");
  d.Field("Origine", incident.cause.empty() ? "malveillance : utilisation de comptes d'accès "
                                              "légitimes, identifiants vraisemblablement compromis "
                                              "(à confirmer)"
                                            : incident.cause);
  std::vector<std::string> taken = DefaultMeasuresTaken(scope, f);
  taken.insert(taken.end(), incident.measures_taken.begin(), incident.measures_taken.end());
  d.Heading("5. Mesures prises");
  d.List(taken);
  d.Heading("6. Demande d'accompagnement");
  d.Para("Besoin d'appui du CERT Santé : à préciser par la structure.");
  return d.Finish();
}

Document PatientLetter(const PatientExposure& patient, const ControllerInfo& controller,
                       const std::optional<Addressee>& addressee, const std::string& now) {
  DocWriter d("Information sur un accès non autorisé à vos données personnelles");
  d.Para(controller.name);
  if (!controller.address.empty()) d.Para(controller.address);
  if (addressee) {
    d.Para("À l'attention de " + addressee->name);
    for (const std::string& line : addressee->lines) d.Para(line);
  } else {
    d.Para("Patient n° " + patient.id);
  }
  d.Para("Le " + FrenchTime(now).substr(0, 10));
  d.Para(addressee ? "Madame, Monsieur " + addressee->name + "," : "Madame, Monsieur,");
  d.Para("Nous vous informons, comme la loi nous y oblige (article 34 du règlement général sur la "
         "protection des données), que des informations de votre dossier ont été consultées par "
         "une personne qui n'y était pas autorisée.");

  d.Heading("Ce qui s'est passé");
  d.Para("Un ou plusieurs comptes d'accès à notre logiciel de dossiers patients ont été utilisés "
         "pour consulter des dossiers sans lien avec des soins. Votre dossier a été consulté " +
         std::to_string(patient.accesses) + " fois, " +
         (patient.first_access == patient.last_access
              ? "le " + FrenchTime(FormatIsoTime(patient.first_access))
              : "entre le " + FrenchTime(FormatIsoTime(patient.first_access)) + " et le " +
                    FrenchTime(FormatIsoTime(patient.last_access))) +
         ".");

  d.Heading("Les informations vous concernant qui ont été vues");
  std::vector<std::string> seen;
  for (FieldGroup g : kAllFieldGroups) {
    if (MaskHas(patient.field_groups, g)) seen.push_back(GroupInWords(g));
  }
  d.List(seen);
  const std::vector<notes::Category> categories = Categories(patient.note_categories);
  if (!categories.empty()) {
    d.Para("Ces notes contiennent des informations sensibles concernant :");
    std::vector<std::string> words;
    for (notes::Category c : categories) words.push_back(CategoryInWords(c));
    d.List(words);
  }
  d.Para("Aucune autre information de votre dossier n'a été transmise lors de ces accès.");

  d.Heading("Ce que cela peut entraîner pour vous");
  std::vector<std::string> risks = {
      "Vous pourriez recevoir des courriels, des SMS ou des appels frauduleux qui utilisent ces "
      "informations pour paraître crédibles, en se faisant passer pour votre médecin, "
      "l'Assurance maladie, votre mutuelle ou votre banque (hameçonnage).",
      "Ces informations pourraient être utilisées pour usurper votre identité."};
  if (MaskHas(patient.field_groups, FieldGroup::kInsurance)) {
    risks.push_back("Votre numéro de sécurité sociale pourrait être utilisé frauduleusement.");
  }
  if (MaskHas(patient.field_groups, FieldGroup::kNotes)) {
    risks.push_back("Des informations sur votre santé ou votre vie privée pourraient être "
                    "divulguées à des tiers.");
  }
  d.List(risks);

  d.Heading("Ce que nous vous conseillons de faire");
  d.List({"Méfiez-vous de tout message ou appel qui vous demande des informations personnelles, "
          "des codes, des mots de passe ou un paiement, même s'il semble venir de votre médecin ou "
          "de l'Assurance maladie : ne répondez pas, et rappelez l'organisme au numéro que vous "
          "connaissez.",
          "Ne communiquez jamais vos codes bancaires ni vos mots de passe.",
          "Consultez régulièrement votre compte ameli et vos relevés de remboursement, et "
          "signalez toute opération que vous ne reconnaissez pas.",
          "En cas d'escroquerie ou d'usurpation d'identité, faites-vous aider sur "
          "www.cybermalveillance.gouv.fr et déposez plainte au commissariat ou à la gendarmerie."});

  d.Heading("Ce que nous avons fait");
  d.Para("Nous avons identifié les comptes utilisés et pris les mesures pour les bloquer. La liste "
         "exacte des personnes concernées a été établie à partir du journal des accès, qui "
         "enregistre chaque consultation. La CNIL est informée de cet incident.");

  d.Heading("Vos contacts et vos droits");
  d.Para("Pour toute question, et pour obtenir la liste des accès à votre dossier, contactez : " +
         ContactLine(controller) + ".");
  d.Para(std::string("Vous avez le droit d'introduire une réclamation auprès de la CNIL : ") +
         kCnilComplaint + ".");
  d.Para("Nous vous prions d'accepter nos excuses pour cet incident.");
  d.Para(controller.name);
  return d.Finish();
}

namespace {

// Writes a new file (refusing to replace one) with mode 0600. No fsync per file: the whole
// directory is flushed once at the end.
Status WriteNew(const std::string& path, std::string_view content) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot create " + path);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      close(fd);
      return Internal("cannot write " + path);
    }
    done += static_cast<size_t>(n);
  }
  return close(fd) == 0 ? Status::Ok() : Internal("cannot write " + path);
}

Status WriteDocument(const std::string& stem, const Document& doc) {
  MV_RETURN_IF_ERROR(WriteNew(stem + ".txt", doc.text));
  return WriteNew(stem + ".html", doc.html);
}

bool EmptyOrAbsent(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return true;
  return std::filesystem::is_directory(dir, ec) && std::filesystem::is_empty(dir, ec);
}

Addressee AddresseeOf(const vault::Patient& p) {
  Addressee a;
  for (const std::string& given : p.identity.given) a.name += given + " ";
  a.name += p.identity.family;
  if (!p.contact.addresses.empty()) {
    const vault::Address& address = p.contact.addresses.front();
    a.lines = address.lines;
    a.lines.push_back(address.postal_code + " " + address.city);
  }
  return a;
}

// Records, before anything is decrypted, that the patients' names and addresses are disclosed
// to the letters.
Status RecordDisclosure(VaultContext& vault, const std::map<std::string, std::vector<std::string>>& ids) {
  return RecordBulkDecryption(vault,
                              {.account = "cli:breach-notify",
                               .action = "breach.notify",
                               .resource_type = "Patient",
                               .field_groups = MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact)},
                              ids);
}

}  // namespace

int RunBreachNotify(const NotifyOptions& options, std::ostream& out, std::ostream& err) {
  Result<std::string> scope_text = ReadFile(options.scope_file);
  if (!scope_text.ok()) return ReportFailure(err, InvalidArgument("--scope: cannot read " + options.scope_file));
  Result<Scope> scope = ScopeFromJson(*scope_text);
  if (!scope.ok()) return ReportFailure(err, scope.status().WithContext("--scope"));
  // Without a controller file the contact point is left as a placeholder to complete.
  const bool placeholders = options.controller_file.empty();
  Result<NotifyConfig> config = NotifyConfig{};
  if (!placeholders) {
    Result<std::string> config_text = ReadFile(options.controller_file);
    if (!config_text.ok()) {
      return ReportFailure(err, InvalidArgument("--controller: cannot read " + options.controller_file));
    }
    config = ParseNotifyConfig(*config_text);
    if (!config.ok()) return ReportFailure(err, config.status().WithContext("--controller"));
  } else {
    ControllerInfo c;
    c.contact_name = kToComplete;
    c.contact_email = kToComplete;
    config->controllers["default"] = c;
    err << "medvault: no --controller file: the contact point is left to complete in every "
           "document\n";
  }
  if (!EmptyOrAbsent(options.out_dir)) {
    return ReportFailure(err, InvalidArgument("--out: " + options.out_dir + " exists and is not empty"));
  }

  // The practices with exposed patients, and their controllers.
  std::map<std::string, std::vector<const PatientExposure*>> by_practice;
  for (const PatientExposure& p : scope->patients) by_practice[p.practice].push_back(&p);
  std::unique_ptr<VaultContext> vault;
  std::unique_ptr<LogWriterLock> lock;
  if (!options.data_dir.empty()) {
    auto opened = VaultContext::Open(options.data_dir);
    if (!opened.ok()) return ReportFailure(err, opened.status().WithContext("--data"));
    vault = std::move(opened).value();
    auto locked = LogWriterLock::Acquire(*vault);
    if (!locked.ok()) return ReportFailure(err, locked.status().WithContext("--data"));
    lock = std::move(locked).value();
  }
  std::map<std::string, ControllerInfo> controllers;
  for (const auto& [practice, patients] : by_practice) {
    auto it = config->controllers.find(practice);
    if (it == config->controllers.end()) it = config->controllers.find("default");
    if (it == config->controllers.end()) {
      return ReportFailure(err, InvalidArgument("--controller: no entry for practice " + practice +
                                                " and no \"default\""));
    }
    ControllerInfo c = it->second;
    if (c.name.empty() && vault) {
      Result<store::PracticeRow> row = vault->data().GetPractice(practice);
      if (!row.ok()) return ReportFailure(err, InvalidArgument("--data: no practice " + practice));
      c.name = row->name;
    }
    if (c.name.empty()) c.name = "Cabinet " + practice;
    if (c.contact_role.empty()) c.contact_role = "délégué à la protection des données";
    if (c.contact_name.empty() || (c.contact_email.empty() && c.contact_phone.empty())) {
      return ReportFailure(err, InvalidArgument("--controller: practice " + practice +
                                                " has no contact point (contact_name, and "
                                                "contact_email or contact_phone)"));
    }
    controllers[practice] = std::move(c);
  }

  if (vault) {
    std::map<std::string, std::vector<std::string>> ids;
    for (const auto& [practice, patients] : by_practice) {
      for (const PatientExposure* p : patients) ids[practice].push_back(p->id);
    }
    Status recorded = RecordDisclosure(*vault, ids);
    if (!recorded.ok()) return ReportFailure(err, recorded.WithContext("recording the disclosure"));
  }

  const std::string now = FormatIsoTime(vault ? vault->clock().Now() : NewRealClock()->Now());
  if (Status s = MakeDirs(options.out_dir, 0700); !s.ok()) return ReportFailure(err, s);
  size_t letters = 0, unaddressed = 0;
  for (const auto& [practice, patients] : by_practice) {
    const ControllerInfo& controller = controllers[practice];
    const std::string dir = options.out_dir + "/" + practice;
    Status s = MakeDirs(dir + "/letters", 0700);
    if (s.ok()) s = WriteDocument(dir + "/cnil-notification", CnilNotification(*scope, practice, controller, config->incident, now));
    if (s.ok()) s = WriteDocument(dir + "/signalement-sante", HealthIncidentReport(*scope, practice, controller, config->incident, now));
    for (const PatientExposure* p : patients) {
      if (!s.ok()) break;
      if (p->id.find('/') != std::string::npos || p->id.front() == '.') {
        s = InvalidArgument("--scope: patient id " + p->id + " is not a file name");
        break;
      }
      std::optional<Addressee> addressee;
      if (vault) {
        Result<vault::Patient> patient = vault->patients().Read(
            practice, p->id, MaskOf(FieldGroup::kIdentity) | MaskOf(FieldGroup::kContact));
        if (patient.ok()) {
          addressee = AddresseeOf(*patient);
        } else {
          ++unaddressed;  // shredded since: no name or address can be read any more
        }
      }
      s = WriteDocument(dir + "/letters/" + p->id, PatientLetter(*p, controller, addressee, now));
      ++letters;
    }
    if (!s.ok()) return ReportFailure(err, s);
    out << "practice " << practice << ": " << patients.size()
        << " patients, art. 33 notification, incident report, " << patients.size()
        << " letters\n";
  }
  const int fd = open(options.out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    syncfs(fd);
    close(fd);
  }
  out << "written to " << options.out_dir << ": " << by_practice.size() << " practices, "
      << letters << " letters";
  if (vault) out << " (" << letters - unaddressed << " with name and address)";
  out << "; " << scope->canaries.size() << " canary patients, no letter\n";
  return 0;
}

}  // namespace medvault::app
