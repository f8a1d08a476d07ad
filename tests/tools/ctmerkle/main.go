// Command ctmerkle answers Merkle-tree questions with independent implementations, for
// medvault's differential tests (src/audit/merkle_differential_test.cc):
//
//   - roots, audit paths and consistency proofs from Google's certificate-transparency
//     reference tree (github.com/google/certificate-transparency/go/merkletree, Debian package
//     golang-github-google-certificate-transparency-dev), and proof verification with its
//     MerkleVerifier;
//   - tree hashes, tile paths and signed notes from the Go checksum database packages
//     (golang.org/x/mod/sumdb/tlog and note).
//
// It reads one command per line on stdin and prints one answer line per command:
//
//	leaf HEX                    append a leaf (no output)
//	root N                      root N HEX
//	path I N                    path I N HEX...       (audit path of leaf index I, 0-based)
//	cons A B                    cons A B HEX...
//	vpath I N ROOT xLEAF HEX... vpath ok | vpath fail MESSAGE  (leaf data hex after an "x")
//	vcons A B ROOT1 ROOT2 HEX...  vcons ok | vcons fail MESSAGE
//	troot N                     troot N HEX           (tlog.TreeHash)
//	tilepath L N W              tilepath PATH          (C2SP form: tlog's path without "8/")
//	note VKEY NOTE_BASE64       note ok TEXT_BASE64 | note fail MESSAGE
//	bench N SIZE                bench N NANOSECONDS  (a fresh reference tree of N leaves of SIZE
//	                            bytes: time to add them all and compute the root)
//
// Build with GO111MODULE=off and a GOPATH holding the Debian Go sources (tests/tools/ctmerkle/
// build.sh). The cgo tree passes Go pointers inside Go memory to C, so run it with
// GODEBUG=cgocheck=0.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	ct "github.com/google/certificate-transparency/go/merkletree"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func sha(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

type hashStore struct {
	hashes  []tlog.Hash
	records int64
}

func (s *hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

func hexes(list [][]byte) string {
	parts := make([]string, len(list))
	for i, h := range list {
		parts[i] = hex.EncodeToString(h)
	}
	return strings.Join(parts, " ")
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad hex:", s)
		os.Exit(2)
	}
	return b
}

func num(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad number:", s)
		os.Exit(2)
	}
	return v
}

func main() {
	tree := ct.NewCPPMerkleTree()
	defer tree.DeletePeer()
	verifier := ct.NewMerkleVerifier(sha)
	store := &hashStore{}

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "leaf":
			data := []byte{}
			if len(f) > 1 {
				data = mustHex(f[1])
			}
			tree.AddLeaf(data)
			// tlog's stored hashes, in its own storage order.
			hashes, err := tlog.StoredHashes(store.records, data, store)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			// StoredHashes returns the hashes at tlog's storage indexes following the last one.
			store.hashes = append(store.hashes, hashes...)
			store.records++
		case "root":
			n := num(f[1])
			r, err := tree.RootAtSnapshot(uint64(n))
			if err != nil {
				fmt.Fprintf(out, "root %d error %v\n", n, err)
				continue
			}
			fmt.Fprintf(out, "root %d %x\n", n, r)
		case "path":
			i, n := num(f[1]), num(f[2])
			p, err := tree.PathToRootAtSnapshot(uint64(i+1), uint64(n))
			if err != nil {
				fmt.Fprintf(out, "path %d %d error %v\n", i, n, err)
				continue
			}
			fmt.Fprintf(out, "path %d %d %s\n", i, n, hexes(p))
		case "cons":
			a, b := num(f[1]), num(f[2])
			p, err := tree.SnapshotConsistency(uint64(a), uint64(b))
			if err != nil {
				fmt.Fprintf(out, "cons %d %d error %v\n", a, b, err)
				continue
			}
			fmt.Fprintf(out, "cons %d %d %s\n", a, b, hexes(p))
		case "vpath":
			i, n := num(f[1]), num(f[2])
			root, leaf := mustHex(f[3]), mustHex(strings.TrimPrefix(f[4], "x"))
			proof := [][]byte{}
			for _, h := range f[5:] {
				proof = append(proof, mustHex(h))
			}
			// The reference verifier numbers leaves from 1.
			if err := verifier.VerifyInclusionProof(i+1, n, proof, root, leaf); err != nil {
				fmt.Fprintf(out, "vpath fail %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			} else {
				fmt.Fprintln(out, "vpath ok")
			}
		case "vcons":
			a, b := num(f[1]), num(f[2])
			r1, r2 := mustHex(f[3]), mustHex(f[4])
			proof := [][]byte{}
			for _, h := range f[5:] {
				proof = append(proof, mustHex(h))
			}
			if err := verifier.VerifyConsistencyProof(a, b, r1, r2, proof); err != nil {
				fmt.Fprintf(out, "vcons fail %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			} else {
				fmt.Fprintln(out, "vcons ok")
			}
		case "troot":
			n := num(f[1])
			h, err := tlog.TreeHash(n, store)
			if err != nil {
				fmt.Fprintf(out, "troot %d error %v\n", n, err)
				continue
			}
			fmt.Fprintf(out, "troot %d %x\n", n, h[:])
		case "tilepath":
			t := tlog.Tile{H: 8, L: int(num(f[1])), N: num(f[2]), W: int(num(f[3]))}
			fmt.Fprintf(out, "tilepath %s\n", strings.Replace(t.Path(), "tile/8/", "tile/", 1))
		case "note":
			v, err := note.NewVerifier(f[1])
			if err != nil {
				fmt.Fprintf(out, "note fail %v\n", err)
				continue
			}
			msg, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil {
				fmt.Fprintf(out, "note fail %v\n", err)
				continue
			}
			n, err := note.Open(msg, note.VerifierList(v))
			if err != nil {
				fmt.Fprintf(out, "note fail %v\n", err)
				continue
			}
			fmt.Fprintf(out, "note ok %s\n", base64.StdEncoding.EncodeToString([]byte(n.Text)))
		case "bench":
			n, size := num(f[1]), num(f[2])
			data := make([]byte, size)
			bench := ct.NewCPPMerkleTree()
			start := time.Now()
			for i := int64(0); i < n; i++ {
				data[0], data[1], data[2] = byte(i), byte(i>>8), byte(i>>16)
				bench.AddLeaf(data)
			}
			if _, err := bench.CurrentRoot(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			fmt.Fprintf(out, "bench %d %d\n", n, time.Since(start).Nanoseconds())
			bench.DeletePeer()
		default:
			fmt.Fprintln(os.Stderr, "unknown command:", f[0])
			os.Exit(2)
		}
	}
}
