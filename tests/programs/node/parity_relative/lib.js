const path = require("path");
exports.where = () => path.basename(__filename);
exports.mainSeen = () => require.main === module.parent;
