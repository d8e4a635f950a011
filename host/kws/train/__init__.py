"""Training on device-exact features: kws.train.features, .model, .fit; kws.train.quantize; kws.footprint.budget."""
