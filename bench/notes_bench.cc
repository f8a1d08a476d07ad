// Throughput and latency of the note classifier on a synthetic corpus of French GP notes
// (~1 % sensitive, 1 GiB unless $MEDVAULT_NOTES_BENCH_BYTES says otherwise), against baselines
// over the same bytes (memchr scan, plain copy) measured in the same run.
// Run: build/bench/notes_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "notes/classifier.h"
#include "notes/normalize.h"

namespace {

using medvault::notes::Classifier;

constexpr std::size_t kDefaultCorpusBytes = std::size_t{1} << 30;
constexpr unsigned kSeed = 20240611;  // fixed: every run classifies the same corpus
constexpr unsigned kSensitiveEveryNotes = 100;

constexpr std::array<std::string_view, 24> kClean = {
    "Renouvellement du traitement habituel pour 3 mois. TA 132/78, FC 72, poids stable. ",
    "Consultation pour toux grasse depuis 5 jours, auscultation claire, pas de fièvre. ",
    "Douleur lombaire après port de charge, examen neurologique normal, kiné 10 séances. ",
    "Bilan sanguin : HbA1c 7,1 %, créatinine 85 µmol/L, LDL 1,2 g/L. Continuer Metformine. ",
    "Vaccin grippe fait ce jour, lot noté dans le carnet. Prochain rappel DTP en 2027. ",
    "Enfant vu avec sa mère pour otite moyenne aiguë, amoxicilline 6 jours, revoir si fièvre. ",
    "Certificat de non contre-indication au sport (football) remis, ECG de repos normal. ",
    "Entorse de cheville droite, strapping, AINS 5 jours, reprise progressive du sport. ",
    "Suivi HTA : automesure correcte, pas de modification, ionogramme dans 6 mois. ",
    "Eczéma des mains, dermocorticoïde 2 semaines puis émollient, éviter les détergents. ",
    "Arrêt de travail 3 jours pour gastro-entérite, réhydratation, régime adapté. ",
    "Résultats de la mammographie : ACR 2, contrôle dans 2 ans selon le dépistage organisé. ",
    "Demande de kinésithérapie respiratoire pour le nourrisson, bronchiolite sans signe de "
    "gravité. ",
    "Prescription de semelles orthopédiques, podologue : Mme Bernard, rue des Lilas. ",
    "Renouvellement pilule, frottis à jour, pas de tabac, TA normale. ",
    "Insomnie d'endormissement, hygiène du sommeil expliquée, pas de somnifère pour l'instant. ",
    "Plaie de l'index gauche suturée, 3 points, ablation des fils à J10 chez l'IDE. ",
    "Conjonctivite bactérienne, collyre antibiotique 7 jours, lavages au sérum physiologique. ",
    "Patient diabétique vu pour le pied : pas de plaie, monofilament normal, podologue annuel. ",
    "Rhinite allergique saisonnière, antihistaminique de mars à juin, test cutané à prévoir. ",
    "Visite à domicile : patiente grabataire, escarre talon en voie de cicatrisation. ",
    "Echo abdominale : lithiase vésiculaire non compliquée, avis chirurgical demandé. ",
    "Migraine sans aura, triptan à la demande, calendrier des crises à tenir. ",
    "Résumé pour le dossier : appendicectomie 1998, fracture du poignet 2015, allergie "
    "pénicilline. ",
};

constexpr std::array<std::string_view, 12> kSensitive = {
    "Sérologie VIH négative, PrEP discutée, revoir dans 3 mois. ",
    "ATCD de TS en 2019, suivi CMP, sous sertraline. ",
    "OH chronique, sevrage envisagé, GGT élevées. ",
    "d'après sa mère aurait fait une IVG l'an dernier. ",
    "père incarcéré, mère alcoolique, pat. suivi par l'ASE. ",
    "musulmane pratiquante, ramadan en mars : adapter l'insuline. ",
    "d'origine maghrébine, drépanocytose à éliminer. ",
    "délégué syndical CGT, conflit avec la direction. ",
    "militant d'extrême gauche, GAV après une manifestation interdite. ",
    "victime de violences conjugales, certificat fait. ",
    "pénible, menteur, vient pour des arrêts de complaisance. ",
    "homosexuel, vit avec son compagnon, bilan IST annuel. ",
};

struct Corpus {
  std::string bytes;
  std::vector<std::string_view> notes;
};

// Notes of one to three template sentences (≈ 80–300 bytes), one in kSensitiveEveryNotes
// holding a sensitive sentence.
const Corpus& SharedCorpus() {
  static const std::unique_ptr<Corpus> corpus = [] {
    auto built = std::make_unique<Corpus>();
    std::size_t corpus_bytes = kDefaultCorpusBytes;
    if (const char* size = std::getenv("MEDVAULT_NOTES_BENCH_BYTES"); size != nullptr) {
      corpus_bytes = std::strtoull(size, nullptr, 10);
    }
    std::mt19937 random(kSeed);
    std::vector<std::pair<std::size_t, std::size_t>> bounds;
    built->bytes.reserve(corpus_bytes + 1024);
    unsigned note = 0;
    while (built->bytes.size() < corpus_bytes) {
      const std::size_t begin = built->bytes.size();
      const auto sentences = 1 + random() % 3;
      for (std::size_t s = 0; s < sentences; ++s) {
        built->bytes += kClean[random() % kClean.size()];
      }
      if (++note % kSensitiveEveryNotes == 0)
        built->bytes += kSensitive[random() % kSensitive.size()];
      bounds.emplace_back(begin, built->bytes.size() - begin);
    }
    for (const auto& [begin, size] : bounds) {
      built->notes.emplace_back(built->bytes.data() + begin, size);
    }
    return built;
  }();
  return *corpus;
}

const Classifier& SharedClassifier() {
  static const std::unique_ptr<Classifier> classifier = [] {
    auto loaded = Classifier::Load();
    if (!loaded.ok()) std::abort();
    return std::move(loaded).value();
  }();
  return *classifier;
}

void BM_ClassifyCorpus(benchmark::State& state) {
  const Corpus& corpus = SharedCorpus();
  const Classifier& classifier = SharedClassifier();
  std::size_t sensitive = 0;
  for (auto _ : state) {
    sensitive = 0;
    for (const std::string_view note : corpus.notes) {
      sensitive += classifier.Classify(note).sensitive() ? 1 : 0;
    }
    benchmark::DoNotOptimize(sensitive);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * corpus.notes.size()));
  state.counters["notes"] = static_cast<double>(corpus.notes.size());
  state.counters["sensitive"] = static_cast<double>(sensitive);
}
BENCHMARK(BM_ClassifyCorpus)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// The same without the prefilter: every note goes through the regular-expression scans (the
// reference path the prefilter is tested against).
void BM_ClassifyCorpusWithoutPrefilter(benchmark::State& state) {
  const Corpus& corpus = SharedCorpus();
  const Classifier& classifier = SharedClassifier();
  std::size_t sensitive = 0;
  for (auto _ : state) {
    sensitive = 0;
    for (const std::string_view note : corpus.notes) {
      sensitive += classifier.ClassifyWithoutPrefilter(note).sensitive() ? 1 : 0;
    }
    benchmark::DoNotOptimize(sensitive);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes.size()));
  state.counters["sensitive"] = static_cast<double>(sensitive);
}
BENCHMARK(BM_ClassifyCorpusWithoutPrefilter)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// The fused fold-and-skeleton pass alone: the part of the prefilter that touches every byte.
void BM_FoldSkeletonCorpus(benchmark::State& state) {
  const Corpus& corpus = SharedCorpus();
  std::string skeleton;
  for (auto _ : state) {
    for (const std::string_view note : corpus.notes) {
      medvault::notes::FoldSkeleton(note, &skeleton);
      benchmark::DoNotOptimize(skeleton.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes.size()));
}
BENCHMARK(BM_FoldSkeletonCorpus)->Unit(benchmark::kMillisecond)->MinTime(3.0);

void BM_FoldCorpus(benchmark::State& state) {
  const Corpus& corpus = SharedCorpus();
  medvault::notes::FoldedText folded;
  for (auto _ : state) {
    for (const std::string_view note : corpus.notes) {
      medvault::notes::Fold(note, false, &folded);
      benchmark::DoNotOptimize(folded.text().data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes.size()));
}
BENCHMARK(BM_FoldCorpus)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// Baseline 1: one memchr pass per note, the cheapest possible look at every byte.
void BM_BaselineMemchr(benchmark::State& state) {
  const Corpus& corpus = SharedCorpus();
  for (auto _ : state) {
    std::size_t found = 0;
    for (const std::string_view note : corpus.notes) {
      found += std::memchr(note.data(), '\n', note.size()) != nullptr ? 1 : 0;
    }
    benchmark::DoNotOptimize(found);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes.size()));
}
BENCHMARK(BM_BaselineMemchr)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// Baseline 2: copying each note into a std::string, what storing it costs at the very least.
void BM_BaselineCopy(benchmark::State& state) {
  const Corpus& corpus = SharedCorpus();
  std::string copy;
  for (auto _ : state) {
    for (const std::string_view note : corpus.notes) {
      copy.assign(note);
      benchmark::DoNotOptimize(copy.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes.size()));
}
BENCHMARK(BM_BaselineCopy)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// Latency of one note, what classification adds to a note write: a typical ~200-byte note, clean
// and sensitive, and a long (≈ 4 KB) note with a sensitive sentence in every other line, the
// worst case a practitioner is likely to write.
void BM_ClassifyTypicalNote(benchmark::State& state) {
  const std::string clean = std::string(kClean[0]) + std::string(kClean[3]);
  const std::string sensitive =
      std::string(kClean[0]) + std::string(kSensitive[4]) + std::string(kSensitive[6]);
  std::string dense;
  for (std::size_t i = 0; dense.size() < 4000; ++i) {
    dense += kClean[i % kClean.size()];
    dense += '\n';
    dense += kSensitive[i % kSensitive.size()];
    dense += '\n';
  }
  const std::string& note = state.range(0) == 0 ? clean : state.range(0) == 1 ? sensitive : dense;
  const Classifier& classifier = SharedClassifier();
  std::size_t categories = 0;
  for (auto _ : state) {
    const auto result = classifier.Classify(note);
    categories = result.categories.size();
    benchmark::DoNotOptimize(result);
  }
  state.SetLabel(state.range(0) == 0 ? "clean" : state.range(0) == 1 ? "sensitive" : "long");
  state.counters["bytes"] = static_cast<double>(note.size());
  state.counters["categories"] = static_cast<double>(categories);
}
BENCHMARK(BM_ClassifyTypicalNote)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

// Start-up without the cache: loading the embedded lexicons and compiling both databases.
void BM_LoadClassifier(benchmark::State& state) {
  for (auto _ : state) {
    auto loaded = Classifier::Load(std::nullopt, std::nullopt);
    benchmark::DoNotOptimize(loaded.ok());
  }
}
BENCHMARK(BM_LoadClassifier)->Unit(benchmark::kMillisecond)->Iterations(3);

// Start-up with a warm cache: parsing the lexicons and deserializing both databases. The cache
// lives in a fresh directory under $TMPDIR, filled by the first (untimed) load.
void BM_LoadClassifierFromCache(benchmark::State& state) {
  const char* tmp = std::getenv("TMPDIR");
  std::string directory =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/notes_bench_cache.XXXXXX";
  if (::mkdtemp(directory.data()) == nullptr) std::abort();
  if (!Classifier::Load(std::nullopt, directory).ok()) std::abort();
  bool from_cache = false;
  for (auto _ : state) {
    auto loaded = Classifier::Load(std::nullopt, directory);
    from_cache = loaded.ok() && (*loaded)->database_from_cache();
    benchmark::DoNotOptimize(from_cache);
  }
  if (!from_cache) state.SkipWithError("the cache was not used");
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
}
BENCHMARK(BM_LoadClassifierFromCache)->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace

BENCHMARK_MAIN();
