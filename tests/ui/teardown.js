/** Remove this run's project copy and remote (NBPROD_UI_KEEP=1 keeps them to look at). */
const fs = require('fs');

module.exports = async () => {
  const root = process.env.NBPROD_UI_ROOT;
  if (root && !process.env.NBPROD_UI_KEEP && fs.existsSync(root)) {
    fs.rmSync(root, { recursive: true, force: true });
  }
};
