"""Training on device-exact features: kws.train.features, .model, .fit; kws.quantize; kws.budget."""
