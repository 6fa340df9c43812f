// The read viewer: igv.js (vendored, served by the application) on the sample's BAM, streamed by range requests
// from this server only; the reference is the centre's own indexed FASTA. No CDN, no external genome list.
(function () {
  const div = document.getElementById("igv");
  if (!div || typeof igv === "undefined") return;
  const options = {
    reference: {
      id: "reference", name: "GRCh38 (the centre's reference)",
      fastaURL: "/reference/genome.fa.gz", indexURL: "/reference/genome.fa.gz.fai",
      compressedIndexURL: "/reference/genome.fa.gz.gzi",
    },
    locus: div.dataset.locus,
    showCytobandIdeogram: false, showCenterGuide: true, loadDefaultGenomes: false, promisified: true,
    tracks: [{ type: "alignment", format: "bam", name: "reads", url: div.dataset.bam, indexURL: div.dataset.bai,
               height: 260, showSoftClips: false }],
  };
  igv.createBrowser(div, options).then(function (browser) {
    window.oncopanelViewer = browser;
    div.setAttribute("data-ready", "1");
    document.querySelectorAll("button.show-locus").forEach(function (b) {
      b.addEventListener("click", function () { browser.search(b.dataset.locus); });
    });
  });
})();
