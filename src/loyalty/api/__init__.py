"""HTTP edge: routing, authentication, request and response models, the JSend envelope, error mapping."""
