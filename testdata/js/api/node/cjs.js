// CommonJS: module.exports = handler.
module.exports = function handler(req, res) {
  res.status(201).send({ shape: 'commonjs', method: req.method });
};
