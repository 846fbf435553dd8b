// solidity-coverage settings. contracts/test/ holds test-only attack contracts (a hostile token, a hostile
// delegator), which are not part of the protocol and must not count in its coverage.
module.exports = {
  skipFiles: ["test/"],
};
